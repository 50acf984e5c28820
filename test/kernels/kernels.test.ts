// Every fast kernel against its slow, obvious twin (src/kernels/reference.ts) on seeded random data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { causalAttention } from "../../src/kernels/attention.js";
import { add, addBias, gelu, silu, swiglu } from "../../src/kernels/elementwise.js";
import { matmul } from "../../src/kernels/matmul.js";
import { layerNorm, rmsNorm } from "../../src/kernels/norms.js";
import {
  attentionSlow, geluSlow, layerNormSlow, matmulSlow, rmsNormSlow, ropeSlow, siluSlow, softmaxSlow,
} from "../../src/kernels/reference.js";
import {
  applyRopeFreqFactors, fillRopeTables, llama3RopeFactors, ropeInvFreq, ropeNeox, ropeNormal,
} from "../../src/kernels/rope.js";
import { softmax } from "../../src/kernels/softmax.js";
import { maxAbsDiff, randomArray, rng } from "./random.js";

test("matmul equals the three-loop product, for every remainder of the 4×2 blocking", (t) => {
  const random = rng(1);
  let worst = 0;
  for (const n of [1, 2, 3, 5, 33, 70]) {
    for (const rows of [1, 3, 4, 7, 13]) {
      for (const cols of [1, 5, 64, 67]) {
        const x = randomArray(random, n * cols);
        const w = randomArray(random, rows * cols);
        const fast = new Float32Array(n * rows);
        const slow = new Float32Array(n * rows);
        matmul(fast, x, w, n, rows, cols);
        matmulSlow(slow, x, w, n, rows, cols);
        worst = Math.max(worst, maxAbsDiff(fast, slow));
      }
    }
  }
  t.diagnostic(`max diff ${worst}`);
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});

test("matmul writes only n rows of a larger output buffer", () => {
  const random = rng(2);
  const x = randomArray(random, 3 * 8);
  const w = randomArray(random, 5 * 8);
  const out = new Float32Array(10 * 5).fill(42);
  matmul(out, x, w, 2, 5, 8);
  assert.ok(out.subarray(10).every((v) => v === 42));
});

test("layerNorm and rmsNorm equal their formulas", (t) => {
  const random = rng(3);
  const n = 7, dim = 48;
  const x = randomArray(random, n * dim, 3);
  const weight = randomArray(random, dim);
  const bias = randomArray(random, dim);
  const fast = new Float32Array(n * dim), slow = new Float32Array(n * dim);
  layerNorm(fast, x, weight, bias, n, dim, 1e-5);
  layerNormSlow(slow, x, weight, bias, n, dim, 1e-5);
  const dLayer = maxAbsDiff(fast, slow);
  rmsNorm(fast, x, weight, n, dim, 1e-6);
  rmsNormSlow(slow, x, weight, n, dim, 1e-6);
  const dRms = maxAbsDiff(fast, slow);
  // In place gives the same answer.
  const inPlace = Float32Array.from(x);
  rmsNorm(inPlace, inPlace, weight, n, dim, 1e-6);
  t.diagnostic(`layerNorm max diff ${dLayer}, rmsNorm max diff ${dRms}`);
  assert.ok(dLayer < 1e-5 && dRms < 1e-5);
  assert.deepEqual(inPlace, fast);
});

test("gelu, silu, swiglu, add and addBias equal their formulas", (t) => {
  const random = rng(4);
  const len = 1000;
  const x = randomArray(random, len, 8);
  const y = randomArray(random, len, 8);
  const out = new Float32Array(len);
  gelu(out, x, len);
  const dGelu = maxAbsDiff(out, Array.from(x, geluSlow));
  silu(out, x, len);
  const dSilu = maxAbsDiff(out, Array.from(x, siluSlow));
  swiglu(out, x, y, len);
  const dSwiglu = maxAbsDiff(out, Array.from(x, (v, i) => siluSlow(v) * y[i]));
  add(out, x, y, len);
  const dAdd = maxAbsDiff(out, Array.from(x, (v, i) => Math.fround(v + y[i])));
  const rows = Float32Array.from(x.subarray(0, 40));
  const bias = y.subarray(0, 8);
  addBias(rows, bias, 5, 8);
  const dBias = maxAbsDiff(rows, Array.from(x.subarray(0, 40), (v, i) => Math.fround(v + bias[i % 8])));
  t.diagnostic(`gelu ${dGelu}, silu ${dSilu}, swiglu ${dSwiglu}, add ${dAdd}, addBias ${dBias}`);
  assert.ok(dGelu < 1e-5 && dSilu < 1e-5 && dSwiglu < 1e-4);
  assert.equal(dAdd, 0);
  assert.equal(dBias, 0);
});

test("softmax equals the textbook formula and survives large logits", (t) => {
  const random = rng(5);
  const values = randomArray(random, 300, 50);
  values[7] = 1e4; // would overflow exp without the max subtraction
  const fast = Float32Array.from(values);
  softmax(fast, 0, fast.length);
  const d = maxAbsDiff(fast, softmaxSlow(Array.from(values)));
  t.diagnostic(`max diff ${d}`);
  assert.ok(d < 1e-6);
  // A slice leaves its neighbours alone.
  const partial = Float32Array.from([5, 1, 2, 3, 5]);
  softmax(partial, 1, 3);
  assert.equal(partial[0], 5);
  assert.equal(partial[4], 5);
  assert.ok(maxAbsDiff(partial.subarray(1, 4), softmaxSlow([1, 2, 3])) < 1e-7);
});

test("rope (both pairings, partial rotation, frequency factors) equals the direct angle formula", (t) => {
  const random = rng(6);
  let worst = 0;
  for (const style of ["neox", "normal"] as const) {
    for (const [headDim, rotDim] of [[16, 16], [16, 8]]) {
      for (const factors of [undefined, Float64Array.from({ length: rotDim / 2 }, () => 1 + random() * 7)]) {
        const dims = { seqLen: 5, nHeads: 3, headDim, rotDim, startPos: 290 };
        const theta = 10000;
        const invFreq = ropeInvFreq(rotDim, theta);
        if (factors) applyRopeFreqFactors(invFreq, factors);
        const nCtx = dims.startPos + dims.seqLen;
        const cos = new Float32Array(nCtx * rotDim / 2), sin = new Float32Array(nCtx * rotDim / 2);
        fillRopeTables(cos, sin, invFreq, 0, nCtx);
        const x = randomArray(random, dims.seqLen * dims.nHeads * headDim);
        const expected = ropeSlow(x, dims, style, theta, factors);
        const fast = Float32Array.from(x);
        (style === "neox" ? ropeNeox : ropeNormal)(fast, cos, sin, dims);
        worst = Math.max(worst, maxAbsDiff(fast, expected));
      }
    }
  }
  t.diagnostic(`max diff ${worst}`);
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});

test("adjacent-pair rope on llama.cpp-permuted rows equals rotate-half rope on HF rows", () => {
  // llama.cpp's converter views each head's rows as (2, headDim/2) and swaps the axes: permuted
  // row 2i+j holds HF row j·headDim/2 + i. Rotating permuted rows pairwise must give the permuted
  // result of rotate-half, so q·k products (what attention sees) are unchanged.
  const random = rng(7);
  const dims = { seqLen: 4, nHeads: 2, headDim: 8, rotDim: 8, startPos: 3 };
  const half = dims.headDim / 2;
  const x = randomArray(random, dims.seqLen * dims.nHeads * dims.headDim);
  const permute = (v: Float32Array) => {
    const out = new Float32Array(v.length);
    for (let r = 0; r < v.length / dims.headDim; r++) {
      for (let i = 0; i < half; i++) {
        for (let j = 0; j < 2; j++) out[r * dims.headDim + 2 * i + j] = v[r * dims.headDim + j * half + i];
      }
    }
    return out;
  };
  const neox = ropeSlow(x, dims, "neox", 500);
  const normal = ropeSlow(permute(x), dims, "normal", 500);
  assert.ok(maxAbsDiff(permute(neox), normal) < 1e-6);
});

test("llama3 rope factors match HF's _compute_llama3_parameters", () => {
  const s = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  const invFreq = ropeInvFreq(128, 500000);
  const factors = llama3RopeFactors(invFreq, s);
  // HF's formulation: where(wavelen > low, inv/factor, inv), then blend the medium band.
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  const sawEach = [false, false, false];
  for (let i = 0; i < invFreq.length; i++) {
    const inv = invFreq[i];
    const wavelen = 2 * Math.PI / inv;
    const scaled = wavelen > lowWavelen ? inv / s.factor : inv;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    const expected = medium ? (1 - smooth) * scaled / s.factor + smooth * scaled : scaled;
    sawEach[wavelen < highWavelen ? 0 : medium ? 1 : 2] = true;
    assert.ok(Math.abs(inv / factors[i] - expected) <= 1e-12 * inv, `frequency ${i}`);
  }
  assert.deepEqual(sawEach, [true, true, true]);
});

test("causal attention equals the masked-score-matrix formula for MHA, GQA, MQA and windows", (t) => {
  const random = rng(8);
  let worst = 0;
  const cases = [
    { nHeads: 4, nKVHeads: 4, headDim: 8, startPos: 0, seqLen: 6 },
    { nHeads: 6, nKVHeads: 2, headDim: 16, startPos: 5, seqLen: 4 },
    { nHeads: 4, nKVHeads: 1, headDim: 12, startPos: 9, seqLen: 1 },
    { nHeads: 4, nKVHeads: 2, headDim: 8, startPos: 3, seqLen: 7, window: 4 },
  ];
  for (const c of cases) {
    const d = { ...c, scale: 1 / Math.sqrt(c.headDim) };
    const kvLen = c.startPos + c.seqLen;
    const q = randomArray(random, c.seqLen * c.nHeads * c.headDim, 2);
    const k = randomArray(random, kvLen * c.nKVHeads * c.headDim, 2);
    const v = randomArray(random, kvLen * c.nKVHeads * c.headDim);
    const out = new Float32Array(q.length);
    causalAttention(out, q, k, v, new Float32Array(kvLen), d);
    worst = Math.max(worst, maxAbsDiff(out, attentionSlow(q, k, v, d)));
  }
  t.diagnostic(`max diff ${worst}`);
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});
