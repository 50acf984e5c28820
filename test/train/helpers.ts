import { Rng } from "../../src/train/rng.js";

export function randomF64(n: number, rng: Rng, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/**
 * Central finite differences of a scalar function with respect to every entry of `x`
 * (or the first `limit` of them), in double precision.
 */
export function numericGradient(f: () => number, x: Float64Array, eps = 1e-5, indices?: number[]): Float64Array {
  const grad = new Float64Array(x.length);
  for (const i of indices ?? x.keys()) {
    const saved = x[i];
    x[i] = saved + eps;
    const plus = f();
    x[i] = saved - eps;
    const minus = f();
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * eps);
  }
  return grad;
}

/** max |a − b| / max(1, max |b|): a relative error that tolerates tiny gradients. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, indices?: number[]): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (const i of indices ?? Array.from({ length: b.length }, (_, k) => k)) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return maxDiff / Math.max(1e-3, maxRef);
}

/** Σ out · r — a scalar whose gradient with respect to out is r. */
export function project(out: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += out[i] * r[i];
  return s;
}
