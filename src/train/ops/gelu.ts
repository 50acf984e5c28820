import type { Floats } from "../floats.js";

// GELU in its tanh form (GPT-2's "gelu_new"): gelu(x) = ½·x·(1 + tanh(k·(x + 0.044715·x³))), k = √(2/π).
const K = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** h (N·H) = gelu(u), elementwise. */
export function geluForward(h: Floats, u: Floats, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = u[i];
    h[i] = 0.5 * x * (1 + Math.tanh(K * (x + A * x * x * x)));
  }
}

/** du = dh · gelu'(u), with gelu'(x) = ½(1 + t) + ½·x·(1 − t²)·k·(1 + 3A·x²), t = tanh(k(x + A·x³)). Overwrites du. */
export function geluBackward(du: Floats, dh: Floats, u: Floats, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = u[i];
    const t = Math.tanh(K * (x + A * x * x * x));
    const slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * A * x * x);
    du[i] = dh[i] * slope;
  }
}
