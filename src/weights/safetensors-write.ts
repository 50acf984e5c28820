import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { blockBytes } from "../tensor/blocks.js";
import type { DType } from "../tensor/tensor.js";
import { checkTensorData, encodeTensor, type TensorToWrite } from "./encode.js";
import { writeAll } from "./file.js";
import { SAFETENSORS_DTYPES, SAFETENSORS_INDEX } from "./safetensors.js";

const DTYPE_NAMES = new Map<DType, string>(Object.entries(SAFETENSORS_DTYPES).map(([name, dtype]) => [dtype, name]));

function checkTensors(path: string, tensors: readonly TensorToWrite[]): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (!DTYPE_NAMES.has(t.dtype)) throw new LoomError(`${path}: tensor "${t.name}": safetensors cannot hold ${t.dtype}`);
    if (t.name === "__metadata__" || seen.has(t.name)) throw new LoomError(`${path}: duplicate or reserved tensor name "${t.name}"`);
    seen.add(t.name);
  }
}

/** Wider dtypes first, as Hugging Face's writer does, so every tensor stays aligned to its element size. */
function dataOrder(tensors: readonly TensorToWrite[]): TensorToWrite[] {
  return tensors
    .map((t, i) => ({ t, i }))
    .sort((a, b) => blockBytes(b.t.dtype) - blockBytes(a.t.dtype) || a.i - b.i)
    .map(({ t }) => t);
}

/** Writes one .safetensors file (F32/F16/BF16); f32 data is converted to each tensor's dtype. */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  checkTensors(path, tensors);
  const ordered = dataOrder(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of ordered) {
    const size = checkTensorData(path, t);
    header[t.name] = { dtype: DTYPE_NAMES.get(t.dtype), shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned.
  const jsonBytes = Buffer.byteLength(json, "utf8");
  json += " ".repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));

  const fd = openSync(path, "w");
  try {
    writeSync(fd, prefix);
    writeSync(fd, headerBytes);
    for (const t of ordered) writeAll(fd, encodeTensor(path, t));
  } finally {
    closeSync(fd);
  }
}

export interface ShardOptions {
  /** Upper bound on each shard's tensor bytes; a single larger tensor gets a shard of its own. */
  maxShardBytes: number;
  metadata?: Record<string, string>;
  /** File name stem: `model` gives model-00001-of-00002.safetensors. */
  baseName?: string;
}

/** Writes `dir`/model-0000i-of-0000n.safetensors and model.safetensors.index.json; returns the shard names. */
export function writeSafetensorsSharded(dir: string, tensors: readonly TensorToWrite[], options: ShardOptions): string[] {
  const { maxShardBytes, metadata, baseName = "model" } = options;
  if (!(maxShardBytes > 0)) throw new LoomError(`${dir}: maxShardBytes must be positive`);
  checkTensors(dir, tensors);
  const shards: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const t of tensors) {
    const size = checkTensorData(dir, t);
    totalSize += size;
    if (current.length > 0 && currentBytes + size > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(t);
    currentBytes += size;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);

  mkdirSync(dir, { recursive: true });
  const pad = (n: number) => String(n).padStart(5, "0");
  const names = shards.map((_, i) => `${baseName}-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    writeSafetensors(join(dir, names[i]), shard, metadata);
    for (const t of shard) weightMap[t.name] = names[i];
  });
  const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const index = { metadata: { total_size: totalSize }, weight_map: sortedMap };
  writeFileSync(join(dir, baseName === "model" ? SAFETENSORS_INDEX : `${baseName}.safetensors.index.json`), JSON.stringify(index, null, 2) + "\n");
  return names;
}
