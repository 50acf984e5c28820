/** Element-wise kernels over the first `len` values (or `n` rows) of their arguments. out may alias an input. */

/** out = a + b */
export function add(out: Float32Array, a: Float32Array, b: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) out[i] = a[i] + b[i];
}

/** x (n, dim) += bias (dim), row by row. */
export function addBias(x: Float32Array, bias: Float32Array, n: number, dim: number): void {
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    for (let i = 0; i < dim; i++) x[o + i] += bias[i];
  }
}

/** out = x · s */
export function scale(out: Float32Array, x: Float32Array, s: number, len: number): void {
  for (let i = 0; i < len; i++) out[i] = x[i] * s;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation (HF "gelu_new" / "gelu_pytorch_tanh", GPT-2's activation):
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 */
export function gelu(out: Float32Array, x: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
  }
}

/** SiLU (swish): x·σ(x) = x / (1 + e^(−x)). */
export function silu(out: Float32Array, x: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const v = x[i];
    out[i] = v / (1 + Math.exp(-v));
  }
}

/** SwiGLU gate: out = silu(gate) · up (Llama's MLP before its down projection). */
export function swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const g = gate[i];
    out[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}
