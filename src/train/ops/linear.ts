import type { Floats } from "../floats.js";
import type { Compute } from "../compute.js";

/** Buffers for the transposes of a linear layer's backward pass, sized for the largest layer. */
export interface LinearScratch {
  /** Wᵀ (in, out) */
  wT: Floats;
  /** dyᵀ (out, N) */
  dyT: Floats;
  /** xᵀ (in, N) */
  xT: Floats;
}

/** y (N, O) = x (N, I) · W (O, I)ᵀ — a bias-free Linear, as in Llama. */
export function linearForward(compute: Compute, y: Floats, x: Floats, W: Floats, N: number, I: number, O: number): void {
  compute.matmul(y, x, W, N, O, I, false);
}

/** dx (N, I) = dy · W (overwritten);  dW (O, I) += dyᵀ · x (accumulated over micro-batches). */
export function linearBackward(
  compute: Compute, s: LinearScratch, dx: Floats, dW: Floats, dy: Floats, x: Floats, W: Floats, N: number, I: number, O: number,
): void {
  compute.transpose(s.wT, W, O, I);
  compute.matmul(dx, dy, s.wT, N, I, O, false);
  compute.transpose(s.dyT, dy, N, O);
  compute.transpose(s.xT, x, N, I);
  compute.matmul(dW, s.dyT, s.xT, O, I, N, true);
}
