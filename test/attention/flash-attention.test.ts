import { test } from "node:test";
import assert from "node:assert/strict";
import { naiveAttention } from "../../src/kernels/attention-naive-ref.js";
import { createFlashScratch, flashAttention, type FlashAttentionDims, type FlashTiles } from "../../src/kernels/flash-attention.js";
import { LoomError } from "../../src/errors.js";
import { maxAbsDiff, randomInt, randomNormal, seededRandom } from "./helpers.js";

interface Case {
  nQ: number; startPos: number; nHeads: number; nKVHeads: number; headDim: number;
  window?: number; softCap?: number; tiles: FlashTiles; qScale?: number;
}

/** Runs flash and naive on the same seeded data; returns the max abs difference of their outputs. */
function compare(c: Case, seed: number): number {
  const rng = seededRandom(seed);
  const kvLen = c.startPos + c.nQ;
  const q = randomNormal(c.nQ * c.nHeads * c.headDim, rng, c.qScale ?? 1);
  const k = randomNormal(kvLen * c.nKVHeads * c.headDim, rng);
  const v = randomNormal(kvLen * c.nKVHeads * c.headDim, rng);
  const dims = { ...c, scale: 1 / Math.sqrt(c.headDim) };
  const expected = new Float32Array(q.length);
  naiveAttention(expected, q, k, v, dims);
  const got = new Float32Array(q.length).fill(NaN);
  flashAttention(got, q, k, v, dims, createFlashScratch(c.nHeads, c.nKVHeads, c.headDim, c.tiles));
  assert.ok(got.every(Number.isFinite), "flash wrote every output");
  return maxAbsDiff(got, expected);
}

const TOL = 2e-6; // outputs are O(1); both kernels sum in double and round once to f32

test("flash == naive: structured sweep over head dims, GQA ratios, windows, start positions, tiles", () => {
  let worst = 0, cases = 0;
  const tilesList: FlashTiles[] = [{ queryBlock: 1, keyBlock: 1 }, { queryBlock: 3, keyBlock: 7 }, { queryBlock: 16, keyBlock: 64 }];
  for (const headDim of [8, 64, 80]) {
    for (const [nHeads, nKVHeads] of [[4, 4], [8, 2], [6, 1]]) {
      for (const window of [undefined, 1, 5, 37]) {
        for (const [startPos, nQ] of [[0, 45], [13, 1], [60, 20]]) {
          for (const tiles of tilesList) {
            const diff = compare({ nQ, startPos, nHeads, nKVHeads, headDim, window, tiles }, 1000 + cases);
            worst = Math.max(worst, diff);
            cases++;
            assert.ok(diff < TOL, `headDim ${headDim} heads ${nHeads}/${nKVHeads} window ${window} start ${startPos} nQ ${nQ} tiles ${JSON.stringify(tiles)}: diff ${diff}`);
          }
        }
      }
    }
  }
  console.log(`flash vs naive, ${cases} structured cases: max abs diff ${worst.toExponential(2)}`);
});

test("flash == naive: random cases with soft-cap and peaky softmax", () => {
  const rng = seededRandom(7);
  let worst = 0;
  for (let i = 0; i < 40; i++) {
    const nKVHeads = randomInt(rng, 1, 3);
    const c: Case = {
      nQ: randomInt(rng, 1, 40),
      startPos: randomInt(rng, 0, 90),
      nHeads: nKVHeads * randomInt(rng, 1, 4),
      nKVHeads,
      headDim: 2 * randomInt(rng, 1, 40),
      window: rng() < 0.5 ? undefined : randomInt(rng, 1, 60),
      softCap: rng() < 0.4 ? 1 + rng() * 30 : undefined,
      tiles: { queryBlock: randomInt(rng, 1, 20), keyBlock: randomInt(rng, 1, 100) },
      qScale: rng() < 0.3 ? 8 : 1, // large logits: the running max moves a lot
    };
    const diff = compare(c, 5000 + i);
    worst = Math.max(worst, diff);
    assert.ok(diff < TOL, `${JSON.stringify(c)}: diff ${diff}`);
  }
  console.log(`flash vs naive, 40 random cases: max abs diff ${worst.toExponential(2)}`);
});

test("flash == naive on a 1536-token prefill (full causal and window 256)", () => {
  for (const window of [undefined, 256]) {
    const diff = compare({ nQ: 1536, startPos: 0, nHeads: 4, nKVHeads: 2, headDim: 32, window, tiles: { queryBlock: 16, keyBlock: 64 } }, 42);
    console.log(`1536 tokens, window ${window ?? "none"}: max abs diff ${diff.toExponential(2)}`);
    assert.ok(diff < TOL, `diff ${diff}`);
  }
});

test("flash decode after 1500 positions reads K/V in blocks and matches naive", () => {
  const diff = compare({ nQ: 1, startPos: 1500, nHeads: 8, nKVHeads: 2, headDim: 64, tiles: { queryBlock: 16, keyBlock: 64 } }, 43);
  console.log(`decode at position 1500: max abs diff ${diff.toExponential(2)}`);
  assert.ok(diff < TOL);
});

test("flash reads a ring-buffer layout (position p in row p mod ringSlots) like a dense one", () => {
  const rng = seededRandom(11);
  const nHeads = 4, nKVHeads = 2, headDim = 16, kvDim = nKVHeads * headDim;
  for (const [startPos, nQ, window, ringSlots] of [[100, 1, 8, 8], [100, 5, 8, 12], [37, 9, 20, 40], [3, 4, 20, 30]]) {
    const kvLen = startPos + nQ;
    const q = randomNormal(nQ * nHeads * headDim, rng);
    const k = randomNormal(kvLen * kvDim, rng), v = randomNormal(kvLen * kvDim, rng);
    const kRing = new Float32Array(ringSlots * kvDim).fill(NaN), vRing = new Float32Array(ringSlots * kvDim).fill(NaN);
    // Fill in position order, so later positions overwrite earlier ones as a rotating cache would.
    for (let p = 0; p < kvLen; p++) {
      kRing.set(k.subarray(p * kvDim, (p + 1) * kvDim), (p % ringSlots) * kvDim);
      vRing.set(v.subarray(p * kvDim, (p + 1) * kvDim), (p % ringSlots) * kvDim);
    }
    const dims: FlashAttentionDims = { nQ, startPos, nHeads, nKVHeads, headDim, scale: 0.25, window };
    const expected = new Float32Array(q.length);
    naiveAttention(expected, q, k, v, dims);
    const got = new Float32Array(q.length);
    flashAttention(got, q, kRing, vRing, { ...dims, ringSlots }, createFlashScratch(nHeads, nKVHeads, headDim, { queryBlock: 2, keyBlock: 3 }));
    const diff = maxAbsDiff(got, expected);
    assert.ok(diff < TOL, `start ${startPos} nQ ${nQ} window ${window} ring ${ringSlots}: diff ${diff}`);
  }
});

test("window 1 attends only to itself: the output is the query's own value row", () => {
  const rng = seededRandom(3);
  const nQ = 6, nHeads = 2, headDim = 4;
  const q = randomNormal(nQ * nHeads * headDim, rng), k = randomNormal(nQ * headDim, rng), v = randomNormal(nQ * headDim, rng);
  const out = new Float32Array(q.length);
  flashAttention(out, q, k, v, { nQ, startPos: 0, nHeads, nKVHeads: 1, headDim, scale: 1, window: 1 }, createFlashScratch(nHeads, 1, headDim));
  for (let t = 0; t < nQ; t++) {
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < headDim; i++) assert.ok(Math.abs(out[(t * nHeads + h) * headDim + i] - v[t * headDim + i]) < 1e-6);
    }
  }
});

test("flash rejects bad input with LoomError", () => {
  const s = createFlashScratch(4, 2, 8);
  const q = new Float32Array(4 * 8), kv = new Float32Array(10 * 2 * 8), out = new Float32Array(q.length);
  const base: FlashAttentionDims = { nQ: 1, startPos: 5, nHeads: 4, nKVHeads: 2, headDim: 8, scale: 1 };
  flashAttention(out, q, kv, kv, base, s); // fine
  assert.throws(() => flashAttention(out, q, kv, kv, { ...base, nKVHeads: 3 }, s), LoomError);
  assert.throws(() => flashAttention(out, q, kv, kv, { ...base, startPos: 10 }, s), /K\/V hold/);
  assert.throws(() => flashAttention(out, q, kv, kv, { ...base, window: 0 }, s), LoomError);
  assert.throws(() => flashAttention(out, q, kv, kv, { ...base, window: 8, ringSlots: 4 }, s), /ring of 4 slots/);
  assert.throws(() => flashAttention(out, q, kv, kv, base, createFlashScratch(4, 2, 16)), /scratch/);
  assert.throws(() => flashAttention(out, q, kv, kv, base, createFlashScratch(4, 4, 8, { queryBlock: 16, keyBlock: 64 })), /scratch/);
  assert.throws(() => createFlashScratch(4, 2, 8, { queryBlock: 0, keyBlock: 4 }), LoomError);
});

test("the comparison is sensitive: a window off by one is caught", () => {
  const rng = seededRandom(9);
  const nQ = 30, nHeads = 2, headDim = 8;
  const q = randomNormal(nQ * nHeads * headDim, rng), k = randomNormal(nQ * headDim, rng), v = randomNormal(nQ * headDim, rng);
  const dims = { nQ, startPos: 0, nHeads, nKVHeads: 1, headDim, scale: 0.3 };
  const expected = new Float32Array(q.length), got = new Float32Array(q.length);
  naiveAttention(expected, q, k, v, { ...dims, window: 6 });
  flashAttention(got, q, k, v, { ...dims, window: 7 }, createFlashScratch(nHeads, 1, headDim));
  assert.ok(maxAbsDiff(got, expected) > 1e-3);
  assert.ok(expected.some((x) => Math.abs(x) > 0.1), "the oracle output is not trivially zero");
});
