import { addBias } from "../kernels/elementwise.js";
import type { Matrix } from "./matrix.js";

/** y = x·Wᵀ (+ b). W is any Matrix (dense or quantized); the bias stays f32. */
export class Linear {
  constructor(readonly weight: Matrix, readonly bias?: Float32Array) {}

  get inFeatures(): number { return this.weight.cols; }
  get outFeatures(): number { return this.weight.rows; }

  /** out (n, outFeatures) = x (n, inFeatures) · Wᵀ + b */
  forward(out: Float32Array, x: Float32Array, n: number): void {
    this.weight.matmul(out, x, n);
    if (this.bias) addBias(out, this.bias, n, this.weight.rows);
  }
}
