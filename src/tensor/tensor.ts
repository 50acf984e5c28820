/**
 * The storage types Loom understands. Quantized types are stored in blocks along the row
 * (the innermost dimension): q8_0/q4_0/q4_1/q5_0/q5_1 use 32 values per block, the k-quants 256.
 */
export type DType =
  | "f32" | "f16" | "bf16"
  | "q8_0" | "q4_0" | "q4_1" | "q5_0" | "q5_1"
  | "q4_k" | "q5_k" | "q6_k";

/**
 * A tensor exactly as it sits in a checkpoint: raw bytes (often a view into the file, not a copy)
 * plus dtype and shape. `shape` is row-major, outermost first, as in PyTorch/HF:
 * a (rows, cols) matrix has `cols` contiguous values per row. GGUF's reversed `ne` order is
 * converted by the reader so that every consumer sees the same convention.
 */
export interface RawTensor {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
