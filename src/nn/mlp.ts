import { forwardTogether, type Linear } from "./linear.js";
import { JS_OPS, type Ops } from "./ops.js";

export interface MLP {
  /** Hidden width (nFF): the scratch buffers must hold n·hiddenSize floats. */
  readonly hiddenSize: number;
  /** out (n, nEmbd) = mlp(x (n, nEmbd)), using h1, h2 (n, nFF) as scratch. */
  forward(out: Float32Array, x: Float32Array, n: number, h1: Float32Array, h2: Float32Array): void;
}

/** GPT-2's MLP: down(gelu(up(x))), with the tanh-approximated GELU. */
export class GeluMLP implements MLP {
  constructor(readonly up: Linear, readonly down: Linear, private readonly ops: Ops = JS_OPS) {}

  get hiddenSize(): number { return this.up.outFeatures; }

  forward(out: Float32Array, x: Float32Array, n: number, h1: Float32Array): void {
    this.up.forward(h1, x, n); // (n, nFF)
    this.ops.gelu(h1, h1, n * this.hiddenSize);
    this.down.forward(out, h1, n); // (n, nEmbd)
  }
}

/** Llama's MLP: down(silu(gate(x)) · up(x)). */
export class SwiGLUMLP implements MLP {
  constructor(readonly gate: Linear, readonly up: Linear, readonly down: Linear, private readonly ops: Ops = JS_OPS) {}

  get hiddenSize(): number { return this.gate.outFeatures; }

  forward(out: Float32Array, x: Float32Array, n: number, h1: Float32Array, h2: Float32Array): void {
    forwardTogether([this.gate, this.up], [h1, h2], x, n); // (n, nFF) each
    this.ops.swiglu(h1, h1, h2, n * this.hiddenSize);
    this.down.forward(out, h1, n); // (n, nEmbd)
  }
}

/** Gemma's MLP (GeGLU): down(gelu_tanh(gate(x)) · up(x)). */
export class GeGLUMLP implements MLP {
  constructor(readonly gate: Linear, readonly up: Linear, readonly down: Linear, private readonly ops: Ops = JS_OPS) {}

  get hiddenSize(): number { return this.gate.outFeatures; }

  forward(out: Float32Array, x: Float32Array, n: number, h1: Float32Array, h2: Float32Array): void {
    const len = n * this.hiddenSize;
    forwardTogether([this.gate, this.up], [h1, h2], x, n); // (n, nFF) each
    this.ops.geglu(h1, h1, h2, len);
    this.down.forward(out, h1, n); // (n, nEmbd)
  }
}
