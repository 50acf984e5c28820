import { JS_OPS, type Ops } from "./ops.js";

export interface Norm {
  /** out (n, dim) = norm(x (n, dim)); out may alias x. */
  forward(out: Float32Array, x: Float32Array, n: number): void;
}

export class LayerNorm implements Norm {
  readonly weight: Float32Array;
  readonly bias: Float32Array | undefined;

  constructor(weight: Float32Array, bias: Float32Array | undefined, readonly eps: number, private readonly ops: Ops = JS_OPS) {
    this.weight = ops.adopt(weight);
    this.bias = bias && ops.adopt(bias);
  }

  forward(out: Float32Array, x: Float32Array, n: number): void {
    this.ops.layerNorm(out, x, this.weight, this.bias, n, this.weight.length, this.eps);
  }
}

export class RMSNorm implements Norm {
  readonly weight: Float32Array;

  constructor(weight: Float32Array, readonly eps: number, private readonly ops: Ops = JS_OPS) {
    this.weight = ops.adopt(weight);
  }

  forward(out: Float32Array, x: Float32Array, n: number): void {
    this.ops.rmsNorm(out, x, this.weight, n, this.weight.length, this.eps);
  }
}
