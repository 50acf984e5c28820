/**
 * Which storage type each tensor of a converted GGUF gets, following llama.cpp:
 *   - convert_hf_to_gguf.py keeps 1-D tensors, `*_norm.weight`, position embeddings and anything
 *     that is not a `.weight` (biases) in F32, and writes every other matrix in the output type;
 *   - a matrix whose rows do not fill whole blocks falls back — k-quants first to a 32-block type
 *     of similar size (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, as llama-quantize does), then to F16.
 * Loom writes "pure" files: unlike llama-quantize's mixes (Q4_K_M etc.), every quantized matrix,
 * the output head included, gets the one requested type.
 */
import { LoomError } from "../errors.js";
import { blockSize, isDType } from "../tensor/dtypes.js";
import type { DType } from "../tensor/tensor.js";

/** The output types `loom convert` writes. */
export const OUTPUT_DTYPES: readonly DType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"];

export function parseOutputDType(name: string): DType {
  const lower = name.toLowerCase();
  if (!isDType(lower)) throw new LoomError(`unknown dtype "${name}"; choose one of ${OUTPUT_DTYPES.join(", ")}`);
  return lower;
}

/**
 * `general.file_type` (llama.cpp's llama_ftype) for a file whose matrices are mostly `dtype`.
 * The k-quants map to the "_S" variants, the closest named mix to a pure file.
 */
export const FILE_TYPES: Readonly<Record<DType, number>> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9,
  q4_k: 14, q5_k: 16, q6_k: 18, bf16: 32,
};

/** The GGUF quantization format version llama.cpp's writers record (`general.quantization_version`). */
export const QUANTIZATION_VERSION = 2;

/** Where a quantized type goes when a row does not fill its blocks (llama-quantize's fallback). */
const FALLBACK: Partial<Record<DType, DType>> = { q4_k: "q5_0", q5_k: "q5_1", q6_k: "q8_0" };

/** True for tensors llama.cpp always stores in full precision (F32 on conversion). */
export function keepsFullPrecision(ggufName: string, shape: readonly number[]): boolean {
  return (
    shape.length <= 1 ||
    ggufName.endsWith("_norm.weight") ||
    ggufName === "position_embd.weight" ||
    !ggufName.endsWith(".weight")
  );
}

/** The type a matrix with rows of `rowLength` values is stored as when `target` is requested. */
export function matrixDType(target: DType, rowLength: number): DType {
  let dtype = target;
  if (rowLength % blockSize(dtype) !== 0) dtype = FALLBACK[dtype] ?? "f16";
  if (rowLength % blockSize(dtype) !== 0) dtype = "f16";
  return dtype;
}

/** The storage type of one tensor of an HF → GGUF conversion. */
export function convertedDType(ggufName: string, shape: readonly number[], target: DType): DType {
  if (keepsFullPrecision(ggufName, shape)) return "f32";
  return matrixDType(target, shape[shape.length - 1]);
}

/**
 * The storage type of one tensor when an existing GGUF is requantized: like llama-quantize, tensors
 * that are never quantized keep whatever type they already have.
 */
export function requantizedDType(ggufName: string, shape: readonly number[], current: DType, target: DType): DType {
  if (keepsFullPrecision(ggufName, shape)) return current;
  return matrixDType(target, shape[shape.length - 1]);
}
