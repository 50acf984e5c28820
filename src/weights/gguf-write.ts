import { closeSync, openSync } from "node:fs";
import { LoomError } from "../errors.js";
import { blockSize } from "../tensor/blocks.js";
import type { DType } from "../tensor/tensor.js";
import { checkTensorData, encodeTensor, type TensorToWrite } from "./encode.js";
import { writeAll } from "./file.js";
import {
  GGML_TYPE_IDS, GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, VALUE_TYPE_IDS,
  typeName, type GGUFMetaEntry, type GGUFType,
} from "./gguf-format.js";
import type { MetaValue } from "./source.js";

export interface GGUFContents {
  metadata: readonly GGUFMetaEntry[];
  /** Float32Array data is quantized to `dtype`; Uint8Array data must already be in `dtype`'s layout. */
  tensors: readonly TensorToWrite[];
}

export interface GGUFWriteOptions {
  /** 3 (default) or 2; the two share one layout. */
  version?: 2 | 3;
}

export interface WrittenTensor {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/** Little-endian bytes appended to a growing buffer. */
class ByteWriter {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  /** Makes room for n bytes and returns where they start (call before reading `view`, which it may replace). */
  private reserve(n: number): number {
    if (this.length + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.length + n));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number) { const at = this.reserve(1); this.view.setUint8(at, v); }
  i8(v: number) { const at = this.reserve(1); this.view.setInt8(at, v); }
  u16(v: number) { const at = this.reserve(2); this.view.setUint16(at, v, true); }
  i16(v: number) { const at = this.reserve(2); this.view.setInt16(at, v, true); }
  u32(v: number) { const at = this.reserve(4); this.view.setUint32(at, v, true); }
  i32(v: number) { const at = this.reserve(4); this.view.setInt32(at, v, true); }
  f32(v: number) { const at = this.reserve(4); this.view.setFloat32(at, v, true); }
  f64(v: number) { const at = this.reserve(8); this.view.setFloat64(at, v, true); }
  u64(v: bigint) { const at = this.reserve(8); this.view.setBigUint64(at, v, true); }
  i64(v: bigint) { const at = this.reserve(8); this.view.setBigInt64(at, v, true); }

  string(s: string) {
    const encoded = Buffer.from(s, "utf8");
    this.u64(BigInt(encoded.length));
    const at = this.reserve(encoded.length);
    this.bytes.set(encoded, at);
  }

  padTo(alignment: number) {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad); // fresh bytes are zero: the buffer only ever grows into zeroed memory
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  uint8: [0n, 0xffn], int8: [-0x80n, 0x7fn], uint16: [0n, 0xffffn], int16: [-0x8000n, 0x7fffn],
  uint32: [0n, 0xffffffffn], int32: [-0x80000000n, 0x7fffffffn],
  uint64: [0n, 0xffffffffffffffffn], int64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

function writeValue(out: ByteWriter, type: GGUFType, value: MetaValue, key: string): void {
  const bad = (): never => {
    const shown = typeof value === "string" ? JSON.stringify(value) : Array.isArray(value) ? "an array" : String(value);
    throw new LoomError(`metadata "${key}": ${shown} is not a valid ${typeName(type)}`);
  };
  if (typeof type !== "string") {
    if (!Array.isArray(value)) bad();
    const elements = value as MetaValue[];
    const element = type.array;
    out.u32(typeof element === "string" ? VALUE_TYPE_IDS[element] : VALUE_TYPE_IDS.array);
    out.u64(BigInt(elements.length));
    for (const v of elements) writeValue(out, element, v, key);
    return;
  }
  const range = INTEGER_RANGES[type];
  if (range) {
    const isInteger = typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
    if (!isInteger) bad();
    const n = BigInt(value as number | bigint);
    if (n < range[0] || n > range[1]) bad();
    switch (type) {
      case "uint8": return out.u8(Number(n));
      case "int8": return out.i8(Number(n));
      case "uint16": return out.u16(Number(n));
      case "int16": return out.i16(Number(n));
      case "uint32": return out.u32(Number(n));
      case "int32": return out.i32(Number(n));
      case "uint64": return out.u64(n);
      case "int64": return out.i64(n);
    }
  }
  switch (type) {
    case "float32":
    case "float64":
      if (typeof value !== "number") bad();
      return type === "float32" ? out.f32(value as number) : out.f64(value as number);
    case "bool":
      if (typeof value !== "boolean") bad();
      return out.u8(value ? 1 : 0);
    case "string":
      if (typeof value !== "string") bad();
      return out.string(value as string);
  }
  bad();
}

function alignmentOf(path: string, metadata: readonly GGUFMetaEntry[]): number {
  const entry = metadata.find((e) => e.key === GGUF_ALIGNMENT_KEY);
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  const v = entry.value;
  if (entry.type !== "uint32" || typeof v !== "number" || v <= 0 || (v & (v - 1)) !== 0) {
    throw new LoomError(`${path}: ${GGUF_ALIGNMENT_KEY} must be a uint32 power of two`);
  }
  return v;
}

/**
 * A Float32Array tensor whose rows do not fill whole blocks of a quantized dtype is written as f16,
 * as llama.cpp's quantizer does.
 */
function storedDType(t: TensorToWrite): DType {
  const rowLength = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1];
  return t.data instanceof Float32Array && rowLength % blockSize(t.dtype) !== 0 ? "f16" : t.dtype;
}

/** Writes a GGUF file and returns the dtype each tensor was stored as. */
export function writeGGUF(path: string, contents: GGUFContents, options: GGUFWriteOptions = {}): WrittenTensor[] {
  const { metadata, tensors } = contents;
  const version = options.version ?? 3;
  if (version !== 2 && version !== 3) throw new LoomError(`${path}: Loom writes GGUF versions 2 and 3, not ${String(version)}`);
  const alignment = alignmentOf(path, metadata);
  const keys = new Set<string>();
  for (const e of metadata) {
    if (keys.has(e.key)) throw new LoomError(`${path}: duplicate metadata key "${e.key}"`);
    keys.add(e.key);
  }

  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(version);
  header.u64(BigInt(tensors.length));
  header.u64(BigInt(metadata.length));
  for (const { key, type, value } of metadata) {
    header.string(key);
    header.u32(typeof type === "string" ? VALUE_TYPE_IDS[type] : VALUE_TYPE_IDS.array);
    try {
      writeValue(header, type, value, key);
    } catch (error) {
      if (error instanceof LoomError) throw new LoomError(`${path}: ${error.message}`);
      throw error;
    }
  }

  const written: WrittenTensor[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new LoomError(`${path}: duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (t.shape.length > GGUF_MAX_DIMS) throw new LoomError(`${path}: tensor "${t.name}" has more than ${GGUF_MAX_DIMS} dimensions`);
    if (!(t.dtype in GGML_TYPE_IDS)) throw new LoomError(`${path}: tensor "${t.name}" has unknown dtype ${String(t.dtype)}`);
    const dtype = storedDType(t);
    const ne = t.shape.length === 0 ? [1] : [...t.shape].reverse();
    header.string(t.name);
    header.u32(ne.length);
    for (const d of ne) header.u64(BigInt(d));
    header.u32(GGML_TYPE_IDS[dtype]);
    header.u64(BigInt(offset));
    offset += Math.ceil(checkTensorData(path, t, dtype) / alignment) * alignment;
    written.push({ name: t.name, dtype, shape: t.shape });
  }
  header.padTo(alignment);

  const fd = openSync(path, "w");
  try {
    writeAll(fd, header.result());
    const padding = new Uint8Array(alignment);
    for (let i = 0; i < tensors.length; i++) {
      const bytes = encodeTensor(path, tensors[i], written[i].dtype);
      writeAll(fd, bytes);
      writeAll(fd, padding.subarray(0, (alignment - (bytes.length % alignment)) % alignment));
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
