import type { Floats } from "../floats.js";

/** h (N, H) = silu(g) · u, where each row of gu (N, 2H) is [g | u]. */
export function swigluForward(h: Floats, gu: Floats, N: number, H: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * 2 * H;
    for (let j = 0; j < H; j++) {
      const g = gu[o + j];
      h[n * H + j] = (g / (1 + Math.exp(-g))) * gu[o + H + j];
    }
  }
}

/** With σ = sigmoid(g): du = dh · g·σ,  dg = dh · u · σ · (1 + g · (1 − σ)). */
export function swigluBackward(dgu: Floats, dh: Floats, gu: Floats, N: number, H: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * 2 * H;
    for (let j = 0; j < H; j++) {
      const g = gu[o + j];
      const u = gu[o + H + j];
      const sig = 1 / (1 + Math.exp(-g));
      const d = dh[n * H + j];
      dgu[o + j] = d * u * sig * (1 + g * (1 - sig));
      dgu[o + H + j] = d * g * sig;
    }
  }
}
