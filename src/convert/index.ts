/**
 * `loom convert`'s engine: an HF folder → GGUF (llama.cpp's convert_hf_to_gguf.py conventions), or
 * a GGUF → GGUF in another storage type (llama-quantize's).
 */
import { inspectCheckpoint } from "../models/load.js";
import type { DType } from "../tensor/tensor.js";
import { convertHFToGGUF } from "./hf-to-gguf.js";
import { requantizeGGUF } from "./requantize.js";
import type { ConvertResult } from "./write.js";

export { convertHFToGGUF, type ConvertOptions } from "./hf-to-gguf.js";
export { requantizeGGUF, type RequantizeOptions } from "./requantize.js";
export { OUTPUT_DTYPES, FILE_TYPES, parseOutputDType, convertedDType, requantizedDType, matrixDType, keepsFullPrecision } from "./dtype-policy.js";
export { permutedForAdjacentRope, transposed } from "./layout.js";
export type { ConvertResult } from "./write.js";

export interface ConvertCheckpointOptions {
  dtype: DType;
  /** `general.name` for HF conversions. */
  name?: string;
  /** GGUF inputs only: allow re-quantizing already quantized matrices. */
  allowRequantize?: boolean;
}

/** Converts whatever `modelPath` holds (an HF folder or a GGUF file) into the GGUF at `outPath`. */
export function convertCheckpoint(modelPath: string, outPath: string, options: ConvertCheckpointOptions): ConvertResult {
  const checkpoint = inspectCheckpoint(modelPath);
  if (checkpoint.format === "hf") return convertHFToGGUF(modelPath, outPath, { dtype: options.dtype, name: options.name });
  return requantizeGGUF(modelPath, outPath, { dtype: options.dtype, allowRequantize: options.allowRequantize });
}
