import { test } from "node:test";
import assert from "node:assert/strict";
import { LoomError } from "../../src/errors.js";
import { createFlashScratch, flashAttention } from "../../src/kernels/flash-attention.js";
import { naiveAttention } from "../../src/kernels/attention-naive-ref.js";
import { ModelKVCache } from "../../src/nn/model-kv-cache.js";
import { maxAbsDiff, randomNormal, seededRandom } from "./helpers.js";

const kvDim = 8, nHeads = 4, nKVHeads = 2, headDim = 4;
const windows = [3, undefined, 3, 5];

/** Writes n random K/V rows into every layer of `caches` for one call at startPos (reserved, not yet committed). */
function write(caches: ModelKVCache[], startPos: number, n: number, rng: () => number): Float32Array[][] {
  const rows = windows.map(() => [randomNormal(n * kvDim, rng), randomNormal(n * kvDim, rng)]);
  for (const cache of caches) {
    cache.reserve(startPos + n);
    rows.forEach(([k, v], l) => cache.write(l, startPos, k, v, n));
  }
  return rows;
}

function append(cache: ModelKVCache, startPos: number, n: number, rng: () => number): void {
  write([cache], startPos, n, rng);
  cache.commit(startPos + n);
}

test("each layer's span carries its window; the ring and the full store attend identically", () => {
  const rng = seededRandom(5);
  const ring = new ModelKVCache(windows, kvDim, 100, { headroom: 4 });
  const full = new ModelKVCache(windows, kvDim, 100, { windowed: "full" });
  // Dense twin of every layer, to attend naively over.
  const dense = windows.map(() => ({ k: new Float32Array(100 * kvDim), v: new Float32Array(100 * kvDim) }));
  const scratch = createFlashScratch(nHeads, nKVHeads, headDim, { queryBlock: 2, keyBlock: 3 });
  let pos = 0;
  let worst = 0;
  for (const n of [2, 1, 4, 1, 1, 6, 3, 1]) {
    const rows = write([ring, full], pos, n, rng);
    rows.forEach(([k, v], l) => { dense[l].k.set(k, pos * kvDim); dense[l].v.set(v, pos * kvDim); });
    const q = randomNormal(n * nHeads * headDim, rng);
    for (let l = 0; l < windows.length; l++) {
      const outs = [ring, full].map((cache) => {
        const span = cache.span(l, pos, n);
        assert.equal(span.window, windows[l]);
        const out = new Float32Array(n * nHeads * headDim);
        flashAttention(out, q, cache.keys(l), cache.values(l), {
          nQ: n, startPos: pos, nHeads, nKVHeads, headDim, scale: 0.5, window: span.window, ringSlots: span.ringSlots,
        }, scratch);
        return out;
      });
      assert.deepEqual(outs[0], outs[1], `layer ${l} at ${pos}`);
      const naive = new Float32Array(n * nHeads * headDim);
      naiveAttention(naive, q, dense[l].k, dense[l].v, { nQ: n, startPos: pos, nHeads, nKVHeads, headDim, scale: 0.5, window: windows[l] });
      worst = Math.max(worst, maxAbsDiff(outs[0], naive));
    }
    ring.commit(pos + n);
    full.commit(pos + n);
    pos += n;
  }
  assert.ok(worst < 1e-6, `max diff ${worst}`);
  assert.ok(ring.byteLength < full.byteLength);
});

test("windows at least as long as the context are stored densely; memory is bounded per kind", () => {
  const cache = new ModelKVCache([4, 1000, undefined], kvDim, 1000, { headroom: 8 });
  assert.equal(cache.span(1, 0, 1).window, undefined);
  assert.equal(cache.span(1, 0, 1).ringSlots, undefined);
  const rng = seededRandom(2);
  const sizes: number[] = [];
  for (let p = 0; p < 600; p += 50) {
    cache.reserve(p + 50);
    for (let l = 0; l < 3; l++) cache.write(l, p, randomNormal(50 * kvDim, rng), randomNormal(50 * kvDim, rng), 50);
    cache.commit(p + 50);
    sizes.push(cache.byteLength);
  }
  // The two dense layers grow with the sequence (in doubling chunks, capped at 1000); the ring stays at window − 1 + one call.
  const denseBytes = 2 * 2 * kvDim * 4;
  assert.ok(sizes.at(-1)! - sizes[0] >= (600 - 256) * denseBytes);
  assert.ok(sizes.at(-1)! <= 2 * 2 * kvDim * 4 * 1000 + 2 * kvDim * 4 * (4 - 1 + 50));
});

test("clone is independent; truncate is checked for every ring before anything changes", () => {
  const rng = seededRandom(9);
  const cache = new ModelKVCache(windows, kvDim, 100, { headroom: 2 });
  for (let p = 0; p < 20; p++) append(cache, p, 1, rng);
  const fork = cache.clone();
  append(cache, 20, 3, rng);
  assert.equal(fork.length, 20);
  assert.equal(cache.length, 23);
  // The window-3 ring (5 slots after a 3-token call) holds positions 18..22; going back to 17 needs 15.
  assert.throws(() => cache.truncate(17), LoomError);
  assert.equal(cache.length, 23);
  cache.truncate(21);
  assert.equal(cache.length, 21);
  assert.throws(() => cache.truncate(-1), LoomError);
  assert.throws(() => cache.reserve(101), /context too long/);
  assert.throws(() => cache.span(4, 22, 1), /layer 4 out of range/);
  cache.truncate(0);
  assert.equal(cache.length, 0);
});
