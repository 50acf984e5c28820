import type { Floats } from "../floats.js";

/**
 * Rotary position embedding in the Hugging Face "rotate half" layout (GPT-NeoX style): within a
 * head of size d, element i pairs with element i + d/2 and the pair turns by pos · θ^(−2i/d).
 * (llama.cpp's GGUF files pair adjacent elements instead; the exporter permutes Q/K rows for that.)
 */
export function ropeTable(cos: Floats, sin: Floats, maxT: number, headDim: number, theta: number): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const freq = 1 / Math.pow(theta, (2 * i) / headDim);
    for (let t = 0; t < maxT; t++) {
      cos[t * half + i] = Math.cos(t * freq);
      sin[t * half + i] = Math.sin(t * freq);
    }
  }
}

/**
 * Rotates, in place, `nHeads` heads that start at column `col` of each row of x (rows of `stride`
 * numbers; row n is position n mod T). direction +1 is the forward rotation; −1 rotates back,
 * which is exactly the backward pass because a rotation's transpose is its inverse.
 */
export function ropeApply(
  x: Floats, cos: Floats, sin: Floats, N: number, T: number, stride: number, col: number,
  nHeads: number, headDim: number, direction: 1 | -1,
): void {
  const half = headDim / 2;
  for (let n = 0; n < N; n++) {
    const t = n % T;
    for (let h = 0; h < nHeads; h++) {
      const o = n * stride + col + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i];
        const s = direction * sin[t * half + i];
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        x[o + i] = x1 * c - x2 * s;
        x[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}
