/** Normalizations over the last dimension of x (n, dim). out may alias x. */

/** LayerNorm: (x − mean) / √(var + eps) · weight + bias, with the population variance (as PyTorch). */
export function layerNorm(
  out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | undefined,
  n: number, dim: number, eps: number,
): void {
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += x[o + i];
    const mean = sum / dim;
    let sq = 0;
    for (let i = 0; i < dim; i++) {
      const d = x[o + i] - mean;
      sq += d * d;
    }
    const inv = 1 / Math.sqrt(sq / dim + eps);
    if (bias) {
      for (let i = 0; i < dim; i++) out[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
    } else {
      for (let i = 0; i < dim; i++) out[o + i] = (x[o + i] - mean) * inv * weight[i];
    }
  }
}

/** RMSNorm: x / √(mean(x²) + eps) · weight (Llama; no mean subtraction, no bias). */
export function rmsNorm(
  out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number,
): void {
  for (let t = 0; t < n; t++) {
    const o = t * dim;
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(sq / dim + eps);
    for (let i = 0; i < dim; i++) out[o + i] = x[o + i] * inv * weight[i];
  }
}
