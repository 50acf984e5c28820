// GGUF constants shared by the reader and the writer.
// File layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
// metadata (key string, u32 value type, value), tensor infos (name string, u32 n_dims,
// u64 ne[n_dims] innermost first, u32 ggml type, u64 offset into the data section), padding to
// `general.alignment` (default 32), then the data section. Strings are a u64 byte length + UTF-8.
// v1 used u32 counts; v2 and v3 share this layout (v3 only allows big-endian files, which Loom rejects).
import type { DType } from "../tensor/tensor.js";
import type { MetaValue } from "./source.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_ALIGNMENT_KEY = "general.alignment";
export const GGUF_MAX_DIMS = 4;

export type GGUFScalarType =
  | "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32"
  | "bool" | "string" | "uint64" | "int64" | "float64";

/** A metadata value type: a scalar, or an array of some element type (arrays may nest). */
export type GGUFType = GGUFScalarType | { array: GGUFType };

/** One metadata key/value with its exact GGUF type (llama.cpp checks, e.g., uint32 vs int32). */
export interface GGUFMetaEntry {
  key: string;
  type: GGUFType;
  value: MetaValue;
}

/** GGUF value type ids, in the order of the format. */
export const VALUE_TYPE_IDS: Readonly<Record<GGUFScalarType | "array", number>> = {
  uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6,
  bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12,
};

export const VALUE_TYPE_NAMES: readonly (GGUFScalarType | "array")[] = (() => {
  const names: (GGUFScalarType | "array")[] = [];
  for (const [name, id] of Object.entries(VALUE_TYPE_IDS)) names[id] = name as GGUFScalarType | "array";
  return names;
})();

/** Byte size of fixed-size scalar types (strings and arrays are variable). */
export const SCALAR_BYTES: Readonly<Partial<Record<GGUFScalarType, number>>> = {
  uint8: 1, int8: 1, bool: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4,
  uint64: 8, int64: 8, float64: 8,
};

/** ggml_type ids of the tensor types Loom reads and writes. */
export const GGML_TYPE_IDS: Readonly<Record<DType, number>> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8,
  q4_k: 12, q5_k: 13, q6_k: 14, bf16: 30,
};

export const DTYPE_OF_GGML_TYPE: ReadonlyMap<number, DType> = new Map(
  Object.entries(GGML_TYPE_IDS).map(([dtype, id]) => [id, dtype as DType]),
);

/** Names of other ggml types, only to make "unsupported" errors precise. */
export const OTHER_GGML_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [4, "Q4_2 (removed)"], [5, "Q4_3 (removed)"], [9, "Q8_1"], [10, "Q2_K"], [11, "Q3_K"], [15, "Q8_K"],
  [16, "IQ2_XXS"], [17, "IQ2_XS"], [18, "IQ3_XXS"], [19, "IQ1_S"], [20, "IQ4_NL"], [21, "IQ3_S"],
  [22, "IQ2_S"], [23, "IQ4_XS"], [24, "I8"], [25, "I16"], [26, "I32"], [27, "I64"], [28, "F64"], [29, "IQ1_M"],
]);

export function typeName(type: GGUFType): string {
  return typeof type === "string" ? type : `array<${typeName(type.array)}>`;
}
