import { layerNorm, rmsNorm } from "../kernels/norms.js";

export interface Norm {
  /** out (n, dim) = norm(x (n, dim)); out may alias x. */
  forward(out: Float32Array, x: Float32Array, n: number): void;
}

export class LayerNorm implements Norm {
  constructor(readonly weight: Float32Array, readonly bias: Float32Array | undefined, readonly eps: number) {}

  forward(out: Float32Array, x: Float32Array, n: number): void {
    layerNorm(out, x, this.weight, this.bias, n, this.weight.length, this.eps);
  }
}

export class RMSNorm implements Norm {
  constructor(readonly weight: Float32Array, readonly eps: number) {}

  forward(out: Float32Array, x: Float32Array, n: number): void {
    rmsNorm(out, x, this.weight, n, this.weight.length, this.eps);
  }
}
