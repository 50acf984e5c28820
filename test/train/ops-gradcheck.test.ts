// Every op's hand-written backward against central finite differences, all in double precision.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/train/rng.js";
import { embeddingBackward, embeddingForward } from "../../src/train/ops/embedding.js";
import { rmsnormBackward, rmsnormForward } from "../../src/train/ops/rmsnorm.js";
import { ropeApply, ropeTable } from "../../src/train/ops/rope.js";
import { attentionBackward, attentionForward } from "../../src/train/ops/attention.js";
import { swigluBackward, swigluForward } from "../../src/train/ops/swiglu.js";
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "../../src/train/ops/crossentropy.js";
import { linearBackward, linearForward } from "../../src/train/ops/linear.js";
import { SerialCompute } from "../../src/train/compute.js";
import { numericGradient, project, randomF64, relativeError } from "./helpers.js";

const TOL = 1e-6;

test("embedding backward matches finite differences (repeated ids add up)", () => {
  const rng = new Rng(1);
  const V = 7, C = 5, N = 6;
  const tokens = Int32Array.from([3, 1, 3, 0, 6, 3]);
  const table = randomF64(V * C, rng);
  const r = randomF64(N * C, rng);
  const out = new Float64Array(N * C);
  const loss = (): number => (embeddingForward(out, tokens, table, N, C), project(out, r));
  const dTable = new Float64Array(V * C);
  embeddingBackward(dTable, r, tokens, N, C);
  assert.ok(relativeError(dTable, numericGradient(loss, table)) < TOL);
});

test("rmsnorm backward matches finite differences for x and w", () => {
  const rng = new Rng(2);
  const N = 4, C = 9, eps = 1e-5;
  const x = randomF64(N * C, rng);
  const w = randomF64(C, rng);
  const r = randomF64(N * C, rng);
  const out = new Float64Array(N * C);
  const rstd = new Float64Array(N);
  const loss = (): number => (rmsnormForward(out, rstd, x, w, N, C, eps), project(out, r));
  loss();
  const dx = randomF64(N * C, rng); // backward adds into dx: start from noise and subtract it again
  const before = dx.slice();
  const dw = new Float64Array(C);
  rmsnormBackward(dx, dw, r, x, w, rstd, N, C);
  for (let i = 0; i < dx.length; i++) dx[i] -= before[i];
  assert.ok(relativeError(dx, numericGradient(loss, x)) < TOL, "dx");
  assert.ok(relativeError(dw, numericGradient(loss, w)) < TOL, "dw");
});

test("rope backward (the inverse rotation) matches finite differences", () => {
  const rng = new Rng(3);
  const T = 5, B = 2, N = B * T, hd = 6, nHeads = 2, stride = 17, col = 3;
  const cos = new Float64Array(T * hd / 2);
  const sin = new Float64Array(T * hd / 2);
  ropeTable(cos, sin, T, hd, 10000);
  const x = randomF64(N * stride, rng);
  const r = randomF64(N * stride, rng);
  const loss = (): number => {
    const y = x.slice();
    ropeApply(y, cos, sin, N, T, stride, col, nHeads, hd, 1);
    return project(y, r);
  };
  const dx = r.slice();
  ropeApply(dx, cos, sin, N, T, stride, col, nHeads, hd, -1);
  assert.ok(relativeError(dx, numericGradient(loss, x)) < TOL);
});

test("rope forward is the HF rotate-half rotation", () => {
  const T = 4, hd = 8, theta = 500;
  const cos = new Float64Array(T * hd / 2);
  const sin = new Float64Array(T * hd / 2);
  ropeTable(cos, sin, T, hd, theta);
  const x = randomF64(T * hd, new Rng(33));
  const y = x.slice();
  ropeApply(y, cos, sin, T, T, hd, 0, 1, hd, 1);
  // q·cos + rotate_half(q)·sin with rotate_half(q) = [−q2, q1], written out directly
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < hd; j++) {
      const i = j % (hd / 2);
      const angle = t * Math.pow(theta, -(2 * i) / hd);
      const rotated = j < hd / 2 ? -x[t * hd + j + hd / 2] : x[t * hd + j - hd / 2];
      const expected = x[t * hd + j] * Math.cos(angle) + rotated * Math.sin(angle);
      assert.ok(Math.abs(y[t * hd + j] - expected) < 1e-12);
    }
  }
});

for (const [nHeads, nKVHeads] of [[2, 2], [4, 2], [4, 1]]) {
  test(`attention backward matches finite differences (heads ${nHeads}, kv heads ${nKVHeads})`, () => {
    const rng = new Rng(4 + nKVHeads);
    const d = { B: 2, T: 5, nHeads, nKVHeads, headDim: 4 };
    const N = d.B * d.T;
    const Q = nHeads * d.headDim;
    const S = Q + 2 * nKVHeads * d.headDim;
    const qkv = randomF64(N * S, rng);
    const r = randomF64(N * Q, rng);
    const out = new Float64Array(N * Q);
    const probs = new Float64Array(d.B * nHeads * d.T * d.T);
    const loss = (): number => (attentionForward(out, probs, qkv, d), project(out, r));
    loss();
    const dqkv = randomF64(N * S, rng); // must be overwritten, not added to
    attentionBackward(dqkv, r, probs, qkv, d, new Float64Array(d.T));
    assert.ok(relativeError(dqkv, numericGradient(loss, qkv)) < TOL);
  });
}

test("attention is causal: a later token never changes an earlier output", () => {
  const rng = new Rng(9);
  const d = { B: 1, T: 6, nHeads: 2, nKVHeads: 1, headDim: 4 };
  const S = (2 + 2) * 4;
  const qkv = randomF64(d.T * S, rng);
  const out1 = new Float64Array(d.T * 8);
  const out2 = new Float64Array(d.T * 8);
  const probs = new Float64Array(2 * 36);
  attentionForward(out1, probs, qkv, d);
  for (let i = 4 * S; i < qkv.length; i++) qkv[i] += 1;
  attentionForward(out2, probs, qkv, d);
  assert.deepEqual(out1.subarray(0, 4 * 8), out2.subarray(0, 4 * 8));
});

test("swiglu backward matches finite differences", () => {
  const rng = new Rng(5);
  const N = 3, H = 7;
  const gu = randomF64(N * 2 * H, rng, 2);
  const r = randomF64(N * H, rng);
  const h = new Float64Array(N * H);
  const loss = (): number => (swigluForward(h, gu, N, H), project(h, r));
  const dgu = new Float64Array(N * 2 * H);
  swigluBackward(dgu, r, gu, N, H);
  assert.ok(relativeError(dgu, numericGradient(loss, gu)) < TOL);
});

test("softmax cross-entropy: loss is −log softmax and the backward matches finite differences", () => {
  const rng = new Rng(6);
  const N = 4, V = 11;
  const logits = randomF64(N * V, rng, 3);
  const targets = Int32Array.from([0, 10, 5, 5]);
  const losses = new Float64Array(N);
  const mean = (): number => softmaxCrossEntropyForward(losses, logits.slice(), targets, N, V);
  // the loss, written out the long way
  let expected = 0;
  for (let n = 0; n < N; n++) {
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[n * V + v]);
    expected += -(logits[n * V + targets[n]] - Math.log(z)) / N;
  }
  assert.ok(Math.abs(mean() - expected) < 1e-12);
  const probs = logits.slice();
  softmaxCrossEntropyForward(losses, probs, targets, N, V);
  softmaxCrossEntropyBackward(probs, targets, N, V, 1 / N);
  assert.ok(relativeError(probs, numericGradient(mean, logits)) < TOL);
});

test("linear backward matches finite differences and accumulates dW", () => {
  const rng = new Rng(7);
  const N = 6, I = 5, O = 7;
  const x = randomF64(N * I, rng);
  const W = randomF64(O * I, rng);
  const r = randomF64(N * O, rng);
  const y = new Float64Array(N * O);
  const compute = new SerialCompute();
  const loss = (): number => (linearForward(compute, y, x, W, N, I, O), project(y, r));
  const scratch = { wT: new Float64Array(O * I), dyT: new Float64Array(N * O), xT: new Float64Array(N * I) };
  const dx = randomF64(N * I, rng);
  const dW = new Float64Array(O * I).fill(0.5);
  linearBackward(compute, scratch, dx, dW, r, x, W, N, I, O);
  for (let i = 0; i < dW.length; i++) dW[i] -= 0.5;
  assert.ok(relativeError(dx, numericGradient(loss, x)) < TOL, "dx");
  assert.ok(relativeError(dW, numericGradient(loss, W)) < TOL, "dW");
});
