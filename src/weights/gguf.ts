import { blockSize, tensorBytes } from "../tensor/blocks.js";
import { shapeString, type DType, type RawTensor } from "../tensor/tensor.js";
import { readSection, withFile, type ReadOptions } from "./file.js";
import { HeaderCursor } from "./gguf-cursor.js";
import {
  DTYPE_OF_GGML_TYPE, GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, OTHER_GGML_TYPE_NAMES,
  SCALAR_BYTES, VALUE_TYPE_NAMES, type GGUFMetaEntry, type GGUFScalarType, type GGUFType,
} from "./gguf-format.js";
import type { MetaValue, WeightSource } from "./source.js";
import { tensorTable } from "./table.js";

export interface GGUFTensorInfo {
  name: string;
  dtype: DType;
  ggmlType: number;
  /** Outermost first, like every RawTensor (GGUF's `ne` reversed). */
  shape: number[];
  /** Byte offset inside the data section. */
  offset: number;
  byteLength: number;
}

export interface GGUFHeader {
  path: string;
  version: number;
  alignment: number;
  /** File offset where the data section starts. */
  dataOffset: number;
  /** Metadata with exact GGUF types, in file order (writeGGUF accepts them back unchanged). */
  entries: GGUFMetaEntry[];
  readonly metadata: ReadonlyMap<string, MetaValue>;
  tensorInfos: GGUFTensorInfo[];
}

export interface GGUFFile extends WeightSource, GGUFHeader {}

const MAX_ARRAY_NESTING = 8;
const SUPPORTED_VERSIONS = [2, 3];

/** Parses the header only (metadata and tensor infos); reads no tensor data. */
export function readGGUFHeader(path: string): GGUFHeader {
  return withFile(path, (file) => parseHeader(new HeaderCursor(file)));
}

/** Opens a GGUF v2/v3 file: the data section is read into one buffer and tensors are views into it. */
export function openGGUF(path: string, options: ReadOptions = {}): GGUFFile {
  return withFile(path, (file) => {
    const header = parseHeader(new HeaderCursor(file));
    const used = header.tensorInfos.reduce((max, t) => Math.max(max, t.offset + t.byteLength), 0);
    // A file without tensor data may end before the aligned data offset.
    const data = used === 0 ? new Uint8Array(0) : readSection(file, header.dataOffset, used, options, "the GGUF data section");
    const tensors = new Map<string, RawTensor>();
    for (const t of header.tensorInfos) {
      tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, bytes: data.subarray(t.offset, t.offset + t.byteLength) });
    }
    return { ...header, ...tensorTable(path, header.metadata, tensors) };
  });
}

function parseHeader(c: HeaderCursor): GGUFHeader {
  const magic = c.u32("the magic number");
  if (magic !== GGUF_MAGIC) {
    const bytes = [0, 8, 16, 24].map((shift) => ((magic >>> shift) & 0xff).toString(16).padStart(2, "0"));
    c.fail(`not a GGUF file (bad magic ${bytes.join(" ")}, expected 47 47 55 46 "GGUF")`);
  }
  const version = c.u32("the version");
  if (!SUPPORTED_VERSIONS.includes(version)) {
    const hint = version > 0xffff ? " (a big-endian file?)" : "";
    c.fail(`unsupported GGUF version ${version}${hint}; Loom reads versions ${SUPPORTED_VERSIONS.join(" and ")}`);
  }
  const tensorCount = c.u64("the tensor count");
  const entryCount = c.u64("the metadata count");
  // Smallest possible records: a key (8) + type (4) + 1 byte; a name (8) + n_dims (4) + type (4) + offset (8).
  if (entryCount * 13 + tensorCount * 24 > c.remaining) {
    c.fail(
      `truncated or corrupt file: the header claims ${entryCount} metadata entries and ${tensorCount} tensors, ` +
        `more than the ${c.remaining} remaining bytes can hold`,
    );
  }

  const entries: GGUFMetaEntry[] = [];
  const metadata = new Map<string, MetaValue>();
  for (let i = 0; i < entryCount; i++) {
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) c.fail(`duplicate metadata key "${key}"`);
    const { type, value } = readValue(c, c.u32(`the type of "${key}"`), key, 0);
    entries.push({ key, type, value });
    metadata.set(key, value);
  }
  const alignment = readAlignment(c, entries);

  const tensorInfos: GGUFTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const info = readTensorInfo(c, i, alignment);
    if (names.has(info.name)) c.fail(`duplicate tensor name "${info.name}"`);
    names.add(info.name);
    tensorInfos.push(info);
  }
  const dataOffset = Math.ceil(c.position / alignment) * alignment;
  for (const t of tensorInfos) {
    const end = dataOffset + t.offset + t.byteLength;
    if (end > c.file.size) {
      c.fail(
        `tensor "${t.name}" (${t.dtype} ${shapeString(t.shape)}, ${t.byteLength} bytes at data offset ${t.offset}) ` +
          `ends at byte ${end}, past the end of the file (${c.file.size} bytes): truncated or corrupt`,
      );
    }
  }
  return { path: c.file.path, version, alignment, dataOffset, entries, metadata, tensorInfos };
}

function readAlignment(c: HeaderCursor, entries: readonly GGUFMetaEntry[]): number {
  const entry = entries.find((e) => e.key === GGUF_ALIGNMENT_KEY);
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  const value = entry.value;
  if (entry.type !== "uint32" || typeof value !== "number" || value === 0 || (value & (value - 1)) !== 0) {
    c.fail(`${GGUF_ALIGNMENT_KEY} must be a uint32 power of two, got ${String(value)}`);
  }
  return value;
}

function readTensorInfo(c: HeaderCursor, index: number, alignment: number): GGUFTensorInfo {
  const name = c.string(`the name of tensor #${index}`);
  const nDims = c.u32(`the n_dims of tensor "${name}"`);
  if (nDims > GGUF_MAX_DIMS) c.fail(`tensor "${name}" has ${nDims} dimensions; GGUF allows at most ${GGUF_MAX_DIMS}`);
  const ne: number[] = [];
  for (let d = 0; d < nDims; d++) ne.push(c.u64(`dimension ${d} of tensor "${name}"`));
  const ggmlType = c.u32(`the type of tensor "${name}"`);
  const offset = c.u64(`the offset of tensor "${name}"`);
  const shape = ne.reverse();
  const dtype = DTYPE_OF_GGML_TYPE.get(ggmlType);
  if (!dtype) {
    const known = OTHER_GGML_TYPE_NAMES.get(ggmlType);
    c.fail(
      `tensor "${name}" has ggml type ${ggmlType}${known ? ` (${known})` : ""}, which Loom does not read ` +
        `(supported: ${[...DTYPE_OF_GGML_TYPE.values()].join(", ")})`,
    );
  }
  const rowLength = shape.length === 0 ? 1 : shape[shape.length - 1];
  if (rowLength % blockSize(dtype) !== 0) {
    c.fail(`tensor "${name}": ${dtype} shape ${shapeString(shape)} has rows of ${rowLength} values, not whole blocks of ${blockSize(dtype)}`);
  }
  if (offset % alignment !== 0) c.fail(`tensor "${name}" has offset ${offset}, not a multiple of the alignment ${alignment}`);
  const byteLength = tensorBytes(dtype, shape);
  return { name, dtype, ggmlType, shape, offset, byteLength };
}

function readValue(c: HeaderCursor, typeId: number, key: string, depth: number): { type: GGUFType; value: MetaValue } {
  const type = VALUE_TYPE_NAMES[typeId];
  if (type === undefined) c.fail(`metadata "${key}" has unknown value type ${typeId}`);
  if (type === "array") return readArray(c, key, depth);
  return { type, value: readScalar(c, type, key) };
}

function readScalar(c: HeaderCursor, type: GGUFScalarType, key: string): MetaValue {
  if (type === "string") return c.string(`the value of "${key}"`);
  const { view, at } = c.take(SCALAR_BYTES[type]!, `the value of "${key}"`);
  return scalarAt(view, at, type);
}

function scalarAt(view: DataView, at: number, type: GGUFScalarType): MetaValue {
  switch (type) {
    case "uint8": return view.getUint8(at);
    case "int8": return view.getInt8(at);
    case "uint16": return view.getUint16(at, true);
    case "int16": return view.getInt16(at, true);
    case "uint32": return view.getUint32(at, true);
    case "int32": return view.getInt32(at, true);
    case "float32": return view.getFloat32(at, true);
    case "float64": return view.getFloat64(at, true);
    case "bool": return view.getUint8(at) !== 0;
    case "uint64": return smallest(view.getBigUint64(at, true));
    case "int64": return smallest(view.getBigInt64(at, true));
    case "string": throw new Error("unreachable: strings are variable-size");
  }
}

/** 64-bit integers come back as numbers when exact, else as bigints. */
function smallest(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

function readArray(c: HeaderCursor, key: string, depth: number): { type: GGUFType; value: MetaValue[] } {
  if (depth >= MAX_ARRAY_NESTING) c.fail(`metadata "${key}" nests arrays deeper than ${MAX_ARRAY_NESTING}`);
  const elementTypeId = c.u32(`the element type of "${key}"`);
  const elementType = VALUE_TYPE_NAMES[elementTypeId];
  if (elementType === undefined) c.fail(`metadata "${key}" is an array of unknown value type ${elementTypeId}`);
  const count = c.u64(`the length of "${key}"`);
  const minBytes = elementType === "array" ? 12 : elementType === "string" ? 8 : SCALAR_BYTES[elementType]!;
  if (count * minBytes > c.remaining) {
    c.fail(`metadata "${key}" claims ${count} ${elementType} elements, more than the ${c.remaining} remaining bytes can hold`);
  }
  if (elementType === "string") return { type: { array: "string" }, value: c.strings(count, `"${key}"`) };
  const values: MetaValue[] = new Array(count);
  if (elementType === "array") {
    let inner: GGUFType = { array: "uint8" }; // an empty array of arrays does not say what it holds
    for (let i = 0; i < count; i++) {
      const element = readArray(c, key, depth + 1);
      if (i === 0) inner = element.type;
      values[i] = element.value;
    }
    return { type: { array: inner }, value: values };
  }
  const size = SCALAR_BYTES[elementType]!;
  const { view, at } = c.take(count * size, `the elements of "${key}"`);
  for (let i = 0; i < count; i++) values[i] = scalarAt(view, at + i * size, elementType);
  return { type: { array: elementType }, value: values };
}
