import { test } from "node:test";
import assert from "node:assert/strict";
import { AdamW, clipGradNorm } from "../../src/train/adamw.js";
import { learningRate } from "../../src/train/schedule.js";
import type { ParamEntry } from "../../src/train/config.js";

test("learning rate: linear warmup, cosine to minLr at the last step", () => {
  const s = { lr: 1e-3, minLr: 1e-4, warmup: 10, total: 110 };
  assert.equal(learningRate(0, s), 1e-4);
  assert.equal(learningRate(9, s), 1e-3);
  assert.equal(learningRate(10, s), 1e-3);
  assert.ok(Math.abs(learningRate(60, s) - 5.5e-4) < 1e-12); // halfway down the cosine
  assert.ok(Math.abs(learningRate(110, s) - 1e-4) < 1e-12);
  for (let step = 11; step < 110; step++) assert.ok(learningRate(step, s) < learningRate(step - 1, s));
});

test("AdamW matches the update written out by hand, decaying only the marked tensor", () => {
  const table: ParamEntry[] = [
    { name: "matrix", shape: [2, 2], offset: 0, size: 4, decay: true },
    { name: "norm", shape: [2], offset: 4, size: 2, decay: false },
  ];
  const o = { beta1: 0.8, beta2: 0.9, eps: 1e-8, weightDecay: 0.5 };
  const opt = new AdamW(table, o);
  const params = new Float32Array([1, -2, 3, -4, 5, 6]);
  const reference = Array.from(params, Number);
  const m = new Array(6).fill(0);
  const v = new Array(6).fill(0);
  const lr = 0.1;
  for (let t = 1; t <= 3; t++) {
    const grads = Float32Array.from(params, (p, i) => Math.fround(0.3 * p + i - 2));
    opt.update(params, grads, lr);
    for (let i = 0; i < 6; i++) {
      const g = grads[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const mHat = m[i] / (1 - o.beta1 ** t);
      const vHat = v[i] / (1 - o.beta2 ** t);
      const decay = i < 4 ? o.weightDecay * reference[i] : 0;
      reference[i] = Math.fround(reference[i] - lr * (mHat / (Math.sqrt(vHat) + o.eps) + decay));
    }
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(params[i] - reference[i]) < 1e-6, `step ${t} param ${i}: ${params[i]} vs ${reference[i]}`);
  }
});

test("gradient clipping scales the whole vector to the max norm and reports the norm before", () => {
  const g = new Float32Array([3, 4, 0, 0]);
  assert.equal(clipGradNorm(g, 10), 5);
  assert.deepEqual(g, new Float32Array([3, 4, 0, 0]));
  assert.equal(clipGradNorm(g, 1), 5);
  assert.ok(Math.abs(Math.hypot(...g) - 1) < 1e-5);
  assert.ok(Math.abs(g[0] / g[1] - 0.75) < 1e-6);
});
