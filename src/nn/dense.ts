import { matmul } from "../kernels/matmul.js";
import type { Matrix } from "./matrix.js";

/**
 * A Matrix that can also hand out single rows as f32 — what an embedding lookup needs, so a tied
 * LM head and the token embedding can share one table. Quantized implementations dequantize the
 * requested row.
 */
export interface RowMatrix extends Matrix {
  /** Writes row `row` (cols floats) into out[offset ..]. */
  readRow(row: number, out: Float32Array, offset: number): void;
}

/** W (rows, cols) held as f32, row-major. */
export class DenseMatrix implements RowMatrix {
  readonly dtype = "f32" as const;

  constructor(readonly data: Float32Array, readonly rows: number, readonly cols: number) {}

  matmul(out: Float32Array, x: Float32Array, n: number): void {
    matmul(out, x, this.data, n, this.rows, this.cols);
  }

  readRow(row: number, out: Float32Array, offset: number): void {
    const start = row * this.cols;
    out.set(this.data.subarray(start, start + this.cols), offset);
  }
}
