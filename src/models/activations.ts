import { regrow, type Ops } from "../nn/ops.js";

/**
 * A decoder's per-call activation buffers, in its ops' memory (where the WebAssembly kernels read
 * them in place), grown to the largest chunk seen and reused by every later call:
 *   x (n, nEmbd) residual stream; xb (n, nEmbd) normalized input of a sublayer; xb2 (n, nEmbd)
 *   output of a sublayer; h1 (n, nFF) MLP hidden (gate, then act(gate)·up); h2 (n, nFF) up, for
 *   gated MLPs only.
 */
export class Activations {
  private capacity = 0;
  x: Float32Array = new Float32Array(0);
  xb: Float32Array = new Float32Array(0);
  xb2: Float32Array = new Float32Array(0);
  h1: Float32Array = new Float32Array(0);
  h2: Float32Array = new Float32Array(0);

  constructor(
    private readonly ops: Ops,
    private readonly hiddenSize: number,
    private readonly intermediateSize: number,
    private readonly gated: boolean,
  ) {}

  /** The buffers, holding at least n rows. */
  ensure(n: number): this {
    if (n <= this.capacity) return this;
    this.capacity = n;
    const { ops, hiddenSize: d, intermediateSize: ff } = this;
    this.x = regrow(ops, this.x, n * d);
    this.xb = regrow(ops, this.xb, n * d);
    this.xb2 = regrow(ops, this.xb2, n * d);
    this.h1 = regrow(ops, this.h1, n * ff);
    if (this.gated) this.h2 = regrow(ops, this.h2, n * ff);
    return this;
  }
}
