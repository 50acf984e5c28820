import type { DType } from "../tensor/tensor.js";

/**
 * A weight matrix W of shape (rows, cols) = (outFeatures, inFeatures), as a Linear layer sees it.
 * Implementations may hold f32, f16 or quantized blocks, and may run in TypeScript or WebAssembly;
 * model code never knows which.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly dtype: DType;
  /**
   * out (n, rows) = x (n, cols) · Wᵀ, all row-major. n = 1 is a matrix-vector product (decode);
   * n > 1 is prefill. Writes into the caller's `out`; allocates nothing per call.
   */
  matmul(out: Float32Array, x: Float32Array, n: number): void;
}
