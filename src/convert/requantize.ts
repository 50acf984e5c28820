/**
 * GGUF → GGUF in another storage type, as llama-quantize does: metadata is copied (with a new
 * `general.file_type`), tensors that are never quantized keep their type, matrices are decoded to
 * f32 and re-encoded. Re-quantizing an already quantized matrix compounds the rounding error, so
 * — like llama-quantize — it needs an explicit opt-in.
 */
import { resolve } from "node:path";
import { LoomError } from "../errors.js";
import { dequantize, isQuantized, quantize } from "../tensor/dtypes.js";
import type { DType } from "../tensor/tensor.js";
import type { TensorToWrite } from "../weights/encode.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import { openGGUF } from "../weights/gguf.js";
import { FILE_TYPES, QUANTIZATION_VERSION, requantizedDType } from "./dtype-policy.js";
import { u32 } from "./plan.js";
import { writeGGUFAtomically, type ConvertResult } from "./write.js";

export interface RequantizeOptions {
  dtype: DType;
  /** Allow decoding quantized matrices and quantizing them again (lossy twice). */
  allowRequantize?: boolean;
}

export function requantizeGGUF(inPath: string, outPath: string, options: RequantizeOptions): ConvertResult {
  if (resolve(inPath) === resolve(outPath)) throw new LoomError(`${outPath}: the output must be a different file than the input`);
  const file = openGGUF(inPath);
  try {
    const target = options.dtype;
    const tensors: TensorToWrite[] = file.tensorInfos.map(({ name }) => {
      const raw = file.get(name);
      const stored = requantizedDType(name, raw.shape, raw.dtype, target);
      if (stored === raw.dtype) return { name, dtype: stored, shape: raw.shape, data: raw.bytes };
      if (isQuantized(raw.dtype) && !options.allowRequantize) {
        throw new LoomError(
          `${inPath}: tensor "${name}" is already ${raw.dtype}; converting it to ${stored} quantizes twice ` +
          `(pass allowRequantize / --allow-requantize to do it anyway)`,
        );
      }
      return { name, dtype: stored, shape: raw.shape, data: quantize(dequantize(raw), stored, raw.shape[raw.shape.length - 1]) };
    });
    const written = writeGGUFAtomically(outPath, { metadata: withFileType(file.entries, target), tensors });
    const architecture = file.metadata.get("general.architecture");
    return { ...written, architecture: typeof architecture === "string" ? architecture : "unknown", warnings: [] };
  } finally {
    file.close?.();
  }
}

/** The entries with `general.file_type` and `general.quantization_version` set for `dtype`. */
function withFileType(entries: readonly GGUFMetaEntry[], dtype: DType): GGUFMetaEntry[] {
  const replaced = new Map<string, GGUFMetaEntry>([
    ["general.file_type", u32("general.file_type", FILE_TYPES[dtype])],
    ["general.quantization_version", u32("general.quantization_version", QUANTIZATION_VERSION)],
  ]);
  const out = entries.map((e) => replaced.get(e.key) ?? e);
  for (const [key, entry] of replaced) if (!entries.some((e) => e.key === key)) out.push(entry);
  return out;
}
