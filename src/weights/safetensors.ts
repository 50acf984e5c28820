// safetensors: an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}},
// then the data section the offsets point into.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { tensorBytes } from "../tensor/blocks.js";
import { shapeString, type DType, type RawTensor } from "../tensor/tensor.js";
import { readExactly, readSection, withFile, type ReadOptions } from "./file.js";
import type { MetaValue, WeightSource } from "./source.js";
import { tensorTable } from "./table.js";

export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = { F32: "f32", F16: "f16", BF16: "bf16" };

/** The format caps the JSON header at 100 MB, which also bounds what a corrupt length can allocate. */
const MAX_HEADER_BYTES = 100_000_000;

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseEntry(path: string, name: string, raw: unknown, dataSize: number): HeaderEntry {
  const where = `${path}: tensor "${name}"`;
  if (!isRecord(raw)) throw new LoomError(`${where}: header entry is not an object`);
  const { dtype: rawDtype, shape, data_offsets: offsets } = raw;
  if (typeof rawDtype !== "string") throw new LoomError(`${where}: missing dtype`);
  const dtype = SAFETENSORS_DTYPES[rawDtype];
  if (!dtype) {
    throw new LoomError(`${where}: unsupported dtype ${rawDtype} (Loom reads ${Object.keys(SAFETENSORS_DTYPES).join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new LoomError(`${where}: bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new LoomError(`${where}: bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) {
    throw new LoomError(
      `${where}: data_offsets [${begin}, ${end}] point past the end of the data section (${dataSize} bytes): truncated or corrupt file`,
    );
  }
  const expected = tensorBytes(dtype, shape);
  if (end - begin !== expected) {
    throw new LoomError(
      `${where}: ${rawDtype} shape ${shapeString(shape)} needs ${expected} bytes but data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype, shape: shape.slice(), begin, end };
}

/** Opens one .safetensors file; its data section is read into a single buffer and tensors are views. */
export function openSafetensors(path: string, options: ReadOptions = {}): WeightSource {
  return withFile(path, (file) => {
    const lengthBytes = new Uint8Array(8);
    readExactly(file, 0, lengthBytes, "the header length");
    const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (headerLength > BigInt(file.size - 8)) {
      throw new LoomError(`${path}: header length ${headerLength} points past the end of the file (${file.size} bytes)`);
    }
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw new LoomError(`${path}: header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit of the format`);
    }
    const headerBytes = new Uint8Array(Number(headerLength));
    readExactly(file, 8, headerBytes, "the JSON header");
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(headerBytes.buffer, 0, headerBytes.length).toString("utf8"));
    } catch (error) {
      throw new LoomError(`${path}: header is not valid JSON (${(error as Error).message})`);
    }
    if (!isRecord(header)) throw new LoomError(`${path}: header is not a JSON object`);

    const dataStart = 8 + headerBytes.length;
    const dataSize = file.size - dataStart;
    const metadata = new Map<string, MetaValue>();
    const entries: HeaderEntry[] = [];
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (!isRecord(raw)) throw new LoomError(`${path}: __metadata__ is not an object`);
        for (const [key, value] of Object.entries(raw)) metadata.set(key, typeof value === "string" ? value : JSON.stringify(value));
      } else {
        entries.push(parseEntry(path, name, raw, dataSize));
      }
    }

    const used = entries.reduce((max, e) => Math.max(max, e.end), 0);
    const data = readSection(file, dataStart, used, options, "the data section");
    const tensors = new Map<string, RawTensor>();
    for (const e of entries) tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, bytes: data.subarray(e.begin, e.end) });
    return tensorTable(path, metadata, tensors);
  });
}

export const SAFETENSORS_INDEX = "model.safetensors.index.json";
export const SAFETENSORS_SINGLE = "model.safetensors";

/** Opens a Hugging Face folder: sharded via model.safetensors.index.json, or a single model.safetensors. */
export function openSafetensorsFolder(dir: string, options: ReadOptions = {}): WeightSource {
  const indexPath = join(dir, SAFETENSORS_INDEX);
  if (!existsSync(indexPath)) {
    const single = join(dir, SAFETENSORS_SINGLE);
    if (existsSync(single)) return openSafetensors(single, options);
    throw new LoomError(`${dir}: found neither ${SAFETENSORS_INDEX} nor ${SAFETENSORS_SINGLE}`);
  }
  const weightMap = readWeightMap(indexPath);
  const shardFiles = [...new Set(weightMap.values())];
  for (const [name, shard] of weightMap) {
    const shardPath = join(dir, shard);
    if (!existsSync(shardPath) || !statSync(shardPath).isFile()) {
      throw new LoomError(`${indexPath}: tensor "${name}" is in shard ${shard}, which is missing from ${dir}`);
    }
  }
  const metadata = new Map<string, MetaValue>();
  const tensors = new Map<string, RawTensor>();
  for (const shard of shardFiles) {
    const source = openSafetensors(join(dir, shard), options);
    for (const [key, value] of source.metadata) if (!metadata.has(key)) metadata.set(key, value);
    for (const name of source.names()) if (weightMap.get(name) === shard || !weightMap.has(name)) tensors.set(name, source.get(name));
  }
  for (const [name, shard] of weightMap) {
    if (!tensors.has(name)) {
      throw new LoomError(`${indexPath}: tensor "${name}" is listed in shard ${shard}, but that file has no such tensor`);
    }
  }
  return tensorTable(dir, metadata, tensors);
}

function readWeightMap(indexPath: string): Map<string, string> {
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(indexPath, "utf8"));
  } catch (error) {
    throw new LoomError(`${indexPath}: not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(index) || !isRecord(index.weight_map)) throw new LoomError(`${indexPath}: missing "weight_map" object`);
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\") || shard === "..") {
      throw new LoomError(`${indexPath}: tensor "${name}" maps to a bad shard name ${JSON.stringify(shard)}`);
    }
    weightMap.set(name, shard);
  }
  return weightMap;
}
