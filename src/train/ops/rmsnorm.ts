import type { Floats } from "../floats.js";

/**
 * RMSNorm as Llama uses it: y = x · rstd · w with rstd = 1 / sqrt(mean(x²) + eps).
 * rstd (N) is saved for the backward pass.
 */
export function rmsnormForward(out: Floats, rstd: Floats, x: Floats, w: Floats, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] * r * w[c];
  }
}

/**
 * With x̂ = x · rstd and g = dy · w:  dx = rstd · (g − x̂ · mean(g · x̂)),  dw = Σₙ dy · x̂.
 * dx is ADDED to (it is the residual stream's gradient), dw is accumulated.
 */
export function rmsnormBackward(
  dx: Floats, dw: Floats, dy: Floats, x: Floats, w: Floats, rstd: Floats, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dy[o + c] * w[c] * x[o + c] * r;
    const mean = dot / C;
    for (let c = 0; c < C; c++) {
      const xhat = x[o + c] * r;
      dw[c] += dy[o + c] * xhat;
      dx[o + c] += r * (dy[o + c] * w[c] - xhat * mean);
    }
  }
}
