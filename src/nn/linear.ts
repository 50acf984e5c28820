import { matmulTogether } from "../kernels/wasm/index.js";
import type { Matrix } from "./matrix.js";
import { JS_OPS, type Ops } from "./ops.js";

/** y = x·Wᵀ (+ b). W is any Matrix (dense or quantized); the bias stays f32. */
export class Linear {
  readonly bias: Float32Array | undefined;

  constructor(readonly weight: Matrix, bias?: Float32Array, readonly ops: Ops = JS_OPS) {
    this.bias = bias && ops.adopt(bias);
  }

  get inFeatures(): number { return this.weight.cols; }
  get outFeatures(): number { return this.weight.rows; }

  /** out (n, outFeatures) = x (n, inFeatures) · Wᵀ + b */
  forward(out: Float32Array, x: Float32Array, n: number): void {
    this.weight.matmul(out, x, n);
    if (this.bias) this.ops.addBias(out, this.bias, n, this.weight.rows);
  }
}

/**
 * outs[i] = linears[i](x) for projections of the same input (Q, K, V; gate and up): one kernel job
 * for all when their weights allow it (src/kernels/wasm/matrix.ts), else one after another.
 */
export function forwardTogether(linears: readonly Linear[], outs: readonly Float32Array[], x: Float32Array, n: number): void {
  if (!matmulTogether(linears.map((l) => l.weight), outs, x, n)) {
    linears.forEach((l, i) => l.forward(outs[i], x, n));
    return;
  }
  linears.forEach((l, i) => {
    if (l.bias) l.ops.addBias(outs[i], l.bias, n, l.outFeatures);
  });
}
