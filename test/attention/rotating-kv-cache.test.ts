import { test } from "node:test";
import assert from "node:assert/strict";
import { naiveAttention } from "../../src/kernels/attention-naive-ref.js";
import { createFlashScratch, flashAttention, type FlashScratch } from "../../src/kernels/flash-attention.js";
import { RotatingKVCache } from "../../src/nn/rotating-kv-cache.js";
import { DenseKVCache } from "../../src/nn/kv-cache.js";
import type { KVCache } from "../../src/models/types.js";
import { LoomError } from "../../src/errors.js";
import { maxAbsDiff, randomInt, randomNormal, seededRandom } from "./helpers.js";

const nLayers = 2, nHeads = 4, nKVHeads = 2, headDim = 8;
const qDim = nHeads * headDim, kvDim = nKVHeads * headDim, scale = 1 / Math.sqrt(headDim);

/** A fixed sequence of per-layer q/k/v rows, as a model's projections would produce them. */
interface Sequence { n: number; q: Float32Array[]; k: Float32Array[]; v: Float32Array[] }

function makeSequence(n: number, seed: number): Sequence {
  const rng = seededRandom(seed);
  const per = (width: number) => Array.from({ length: nLayers }, () => randomNormal(n * width, rng));
  return { n, q: per(qDim), k: per(kvDim), v: per(kvDim) };
}

/** The full-cache answer: one naive prefill over every position with the window mask. */
function reference(seq: Sequence, window: number): Float32Array[] {
  return seq.q.map((q, l) => {
    const out = new Float32Array(seq.n * qDim);
    naiveAttention(out, q, seq.k[l], seq.v[l], { nQ: seq.n, startPos: 0, nHeads, nKVHeads, headDim, scale, window });
    return out;
  });
}

/** Feeds positions [from, from + Σchunks) through the rotating cache; returns each layer's outputs. */
function runRotating(cache: RotatingKVCache, seq: Sequence, from: number, chunks: number[], s: FlashScratch): Float32Array[] {
  const outs = seq.q.map(() => new Float32Array(seq.n * qDim).fill(NaN));
  let pos = from;
  for (const n of chunks) {
    cache.reserve(pos + n);
    for (let l = 0; l < nLayers; l++) {
      cache.write(l, pos, seq.k[l].subarray(pos * kvDim), seq.v[l].subarray(pos * kvDim), n);
      const span = cache.span(pos, n);
      flashAttention(outs[l].subarray(pos * qDim), seq.q[l].subarray(pos * qDim, (pos + n) * qDim), cache.keys(l), cache.values(l),
        { ...span, nHeads, nKVHeads, headDim, scale }, s);
    }
    cache.commit(pos + n);
    pos += n;
  }
  return outs;
}

function randomChunks(total: number, rng: () => number, maxChunk: number): number[] {
  const chunks: number[] = [];
  for (let left = total; left > 0;) {
    const n = Math.min(left, randomInt(rng, 1, maxChunk));
    chunks.push(n);
    left -= n;
  }
  return chunks;
}

function assertRowsMatch(got: Float32Array[], expected: Float32Array[], from: number, to: number, label: string): number {
  let worst = 0;
  for (let l = 0; l < nLayers; l++) {
    const diff = maxAbsDiff(got[l].subarray(from * qDim, to * qDim), expected[l].subarray(from * qDim, to * qDim));
    assert.ok(diff < 2e-6, `${label}, layer ${l}: diff ${diff}`);
    worst = Math.max(worst, diff);
  }
  return worst;
}

test("rotating cache + window mask == full cache + window mask: prefill, decode, chunked prefill", () => {
  const rng = seededRandom(21);
  const s = createFlashScratch(nHeads, nKVHeads, headDim, { queryBlock: 4, keyBlock: 5 });
  const N = 130;
  let worst = 0;
  for (const window of [1, 4, 16, 50]) {
    const seq = makeSequence(N, 100 + window);
    const expected = reference(seq, window);
    const plans: Record<string, number[]> = {
      prefill: [N],
      decode: Array.from({ length: N }, () => 1),
      "prefill then decode": [37, ...Array.from({ length: N - 37 }, () => 1)],
    };
    for (let trial = 0; trial < 4; trial++) plans[`random chunks #${trial}`] = randomChunks(N, rng, 2 * window + 3);
    for (const [name, chunks] of Object.entries(plans)) {
      const headroom = randomInt(rng, 1, 8);
      const cache = new RotatingKVCache(nLayers, kvDim, window, { headroom });
      const got = runRotating(cache, seq, 0, chunks, s);
      worst = Math.max(worst, assertRowsMatch(got, expected, 0, N, `window ${window}, ${name}`));
      // Memory stays bounded by the window plus the largest call (or the headroom).
      const bound = window - 1 + Math.max(headroom, ...chunks);
      assert.ok(cache.ringSlots <= Math.max(bound, 16), `window ${window}, ${name}: ${cache.ringSlots} slots > bound ${bound}`);
      assert.equal(cache.length, N);
    }
  }
  console.log(`rotating vs full cache (window mask): max abs diff ${worst.toExponential(2)}`);
});

test("a long decode keeps the ring at window − 1 + headroom slots", () => {
  const window = 24, headroom = 4, N = 400;
  const seq = makeSequence(N, 5);
  const cache = new RotatingKVCache(nLayers, kvDim, window, { headroom });
  const got = runRotating(cache, seq, 0, Array.from({ length: N }, () => 1), createFlashScratch(nHeads, nKVHeads, headDim));
  assertRowsMatch(got, reference(seq, window), 0, N, "long decode");
  assert.ok(cache.ringSlots <= window - 1 + headroom, `${cache.ringSlots} slots`);
  assert.equal(cache.keys(0).length, cache.ringSlots * kvDim);
});

test("clone is independent; truncate within the window rewinds, beyond it throws", () => {
  const window = 8, N = 60;
  const seq = makeSequence(N, 77);
  const other = makeSequence(N, 78); // different data for the original after cloning
  const expected = reference(seq, window);
  const s = createFlashScratch(nHeads, nKVHeads, headDim, { queryBlock: 3, keyBlock: 4 });

  const cache = new RotatingKVCache(nLayers, kvDim, window, { headroom: 6 });
  runRotating(cache, seq, 0, [20, 5, 5], s);
  const copy = cache.clone();
  runRotating(cache, other, 30, [10], s); // scribbles over the original's ring
  const fromCopy = runRotating(copy, seq, 30, [3, 1, 26], s);
  assertRowsMatch(fromCopy, expected, 30, N, "clone continues");

  // Rewind a few positions (the window before them is still in the ring) and redo them.
  const rewind = new RotatingKVCache(nLayers, kvDim, window, { headroom: 6 });
  runRotating(rewind, seq, 0, [25, 1, 1, 1, 1, 1], s);
  rewind.truncate(27);
  assert.equal(rewind.length, 27);
  const redone = runRotating(rewind, seq, 27, [N - 27], s);
  assertRowsMatch(redone, expected, 27, N, "after truncate");

  // Positions before the ring's reach are gone: truncating there is a clear error.
  assert.throws(() => rewind.truncate(5), (e: unknown) => e instanceof LoomError && /overwritten/.test(e.message));
  rewind.truncate(0);
  assert.equal(rewind.length, 0);
  const restart = runRotating(rewind, seq, 0, [N], s);
  assertRowsMatch(restart, expected, 0, N, "after truncate(0)");
});

test("satisfies the KVCache contract and rejects calls out of order", () => {
  const cache: KVCache = new RotatingKVCache(1, kvDim, 4);
  assert.equal(cache.length, 0);
  const r = new RotatingKVCache(1, kvDim, 4);
  const rows = new Float32Array(2 * kvDim);
  assert.throws(() => r.write(0, 0, rows, rows, 2), /reserve/);
  r.reserve(2);
  assert.throws(() => r.span(1, 1), LoomError);
  assert.throws(() => r.write(0, 0, rows, rows, 3), LoomError);
  assert.throws(() => r.write(3, 0, rows, rows, 2), /layer 3/);
  r.write(0, 0, rows, rows, 2);
  assert.throws(() => r.commit(3), LoomError);
  r.commit(2);
  assert.throws(() => r.reserve(1), LoomError);
  assert.throws(() => new RotatingKVCache(1, kvDim, 0), LoomError);
  assert.throws(() => r.truncate(-1), LoomError);
});

test("the same kernel reads the dense cache (window mask) and the rotating cache bit for bit", () => {
  const rng = seededRandom(31);
  const window = 12, N = 90;
  const seq = makeSequence(N, 32);
  const s = createFlashScratch(nHeads, nKVHeads, headDim, { queryBlock: 5, keyBlock: 6 });
  const chunks = randomChunks(N, rng, 20);
  const rotating = runRotating(new RotatingKVCache(nLayers, kvDim, window, { headroom: 4 }), seq, 0, chunks, s);

  const dense = new DenseKVCache(nLayers, kvDim, N);
  const outs = seq.q.map(() => new Float32Array(N * qDim));
  let pos = 0;
  for (const n of chunks) {
    dense.reserve(pos + n);
    for (let l = 0; l < nLayers; l++) {
      dense.keys(l).set(seq.k[l].subarray(pos * kvDim, (pos + n) * kvDim), pos * kvDim);
      dense.values(l).set(seq.v[l].subarray(pos * kvDim, (pos + n) * kvDim), pos * kvDim);
      flashAttention(outs[l].subarray(pos * qDim), seq.q[l].subarray(pos * qDim, (pos + n) * qDim), dense.keys(l), dense.values(l),
        { nQ: n, startPos: pos, nHeads, nKVHeads, headDim, scale, window }, s);
    }
    dense.commit(pos + n);
    pos += n;
  }
  for (let l = 0; l < nLayers; l++) assert.deepEqual(rotating[l], outs[l]);
});
