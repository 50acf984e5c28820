// Comparing kernel outputs with their references, with a bound that comes from f32 arithmetic
// rather than a guessed epsilon.
import assert from "node:assert/strict";

export interface Agreement {
  maxDiff: number;
  /** Largest diff / allowed; must stay ≤ 1. */
  worstRatio: number;
}

/**
 * Asserts |got - want| ≤ ulps · 2⁻²⁴ · magnitude (+ a tiny floor) everywhere, where magnitude is
 * Σ|terms| of each sum: the error a reordered f32 sum of that many terms can have.
 */
export function assertClose(
  got: Float32Array, want: Float64Array, magnitude: Float64Array, ulps: number, label: string,
): Agreement {
  assert.equal(got.length, want.length, `${label}: length`);
  let maxDiff = 0;
  let worstRatio = 0;
  for (let i = 0; i < got.length; i++) {
    const allowed = ulps * 2 ** -24 * magnitude[i] + 1e-30;
    const diff = Math.abs(got[i] - want[i]);
    if (!(diff <= allowed)) {
      assert.fail(`${label}: output ${i} is ${got[i]}, reference ${want[i]} (diff ${diff}, allowed ${allowed})`);
    }
    maxDiff = Math.max(maxDiff, diff);
    worstRatio = Math.max(worstRatio, diff / allowed);
  }
  return { maxDiff, worstRatio };
}

/** Asserts two f32 arrays are bit-identical (NaN-free data). */
export function assertSameBits(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length, `${label}: length`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${label}: output ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}
