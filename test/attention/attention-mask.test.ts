import { test } from "node:test";
import assert from "node:assert/strict";
import { fillAttentionMask, oldestNeededPosition, visibleKeyCount, visibleKeys } from "../../src/nn/attention-mask.js";
import { randomInt, seededRandom } from "./helpers.js";

/** The rule spelled out: key j is visible from query p iff it is not in the future and within the window. */
function sees(p: number, j: number, window?: number): boolean {
  return j <= p && (window === undefined || p - j < window);
}

test("visibleKeys matches the spelled-out rule; a query sees exactly `window` keys once it can", () => {
  for (const window of [undefined, 1, 2, 7]) {
    for (let p = 0; p < 30; p++) {
      const { first, end } = visibleKeys(p, window);
      for (let j = 0; j < 40; j++) assert.equal(j >= first && j < end, sees(p, j, window), `p ${p} j ${j} window ${window}`);
      assert.equal(visibleKeyCount(p, window), window === undefined ? p + 1 : Math.min(p + 1, window));
      assert.equal(oldestNeededPosition(p, window), first);
    }
  }
});

test("prefill, decode and chunked prefill masks agree row for row", () => {
  const rng = seededRandom(4);
  const N = 50;
  for (const window of [undefined, 1, 5, 64]) {
    const full = new Float32Array(N * N);
    fillAttentionMask(full, 0, N, window);
    for (let t = 0; t < N; t++) {
      for (let j = 0; j < N; j++) assert.equal(full[t * N + j], sees(t, j, window) ? 0 : -Infinity);
    }
    for (let trial = 0; trial < 5; trial++) {
      for (let start = 0; start < N;) {
        const n = trial === 0 ? 1 : Math.min(N - start, randomInt(rng, 1, 12)); // trial 0 = pure decode
        const kvLen = start + n;
        const chunk = new Float32Array(n * kvLen);
        fillAttentionMask(chunk, start, n, window);
        for (let t = 0; t < n; t++) {
          assert.deepEqual(chunk.subarray(t * kvLen, (t + 1) * kvLen), full.subarray((start + t) * N, (start + t) * N + kvLen));
        }
        start += n;
      }
    }
  }
  assert.throws(() => fillAttentionMask(new Float32Array(3), 0, 2), /2×2/);
});
