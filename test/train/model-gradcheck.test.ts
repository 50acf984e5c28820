// The whole model's backward pass against finite differences of its forward, in double precision,
// plus the properties the training loop relies on (accumulation, threads, overfitting one batch).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/train/rng.js";
import { TrainModel } from "../../src/train/model.js";
import type { TrainModelConfig } from "../../src/train/config.js";
import { AdamW, clipGradNorm } from "../../src/train/adamw.js";
import { numericGradient, relativeError } from "./helpers.js";

const tiny: TrainModelConfig = {
  vocabSize: 13, dim: 8, nLayers: 2, nHeads: 2, nKVHeads: 1, hiddenDim: 12, maxSeqLen: 8, ropeTheta: 10000, normEps: 1e-5,
};

function randomize(model: TrainModel, rng: Rng): void {
  for (const e of model.table) {
    for (let i = e.offset; i < e.offset + e.size; i++) {
      model.params[i] = e.shape.length === 1 ? 1 + 0.2 * rng.normal() : 0.4 * rng.normal();
    }
  }
}

function batch(rng: Rng, n: number, V: number): number[] {
  return Array.from({ length: n }, () => rng.int(V));
}

test("model gradient equals finite differences for every parameter", () => {
  const rng = new Rng(21);
  const B = 2, T = 5;
  const model = new TrainModel(tiny, { batch: B, seqLen: T, kind: "f64" });
  randomize(model, rng);
  const tokens = batch(rng, B * T, tiny.vocabSize);
  const targets = batch(rng, B * T, tiny.vocabSize);
  model.zeroGrad();
  model.forward(tokens, targets, B, T);
  model.backward();
  const analytic = model.grads.slice();
  const numeric = numericGradient(() => model.forward(tokens, targets, B, T), model.params as Float64Array, 1e-5);
  for (const e of model.table) {
    const idx = Array.from({ length: e.size }, (_, k) => e.offset + k);
    const err = relativeError(analytic, numeric, idx);
    assert.ok(err < 1e-6, `${e.name}: relative error ${err}`);
  }
});

test("two micro-batches with loss scale 1/2 give the gradient of the whole batch", () => {
  const rng = new Rng(22);
  const T = 6;
  const model = new TrainModel(tiny, { batch: 2, seqLen: T, kind: "f64" });
  randomize(model, rng);
  const tokens = batch(rng, 2 * T, tiny.vocabSize);
  const targets = batch(rng, 2 * T, tiny.vocabSize);
  model.zeroGrad();
  model.forward(tokens, targets, 2, T);
  model.backward();
  const whole = model.grads.slice();
  model.zeroGrad();
  for (const half of [0, 1]) {
    model.forward(tokens.slice(half * T, half * T + T), targets.slice(half * T, half * T + T), 1, T);
    model.backward(0.5);
  }
  assert.ok(relativeError(model.grads, whole) < 1e-12);
});

test("two threads give bit-identical loss and gradients to one", () => {
  const cfg: TrainModelConfig = { ...tiny, vocabSize: 67, dim: 32, nHeads: 4, nKVHeads: 2, hiddenDim: 40, maxSeqLen: 16 };
  const rng = new Rng(23);
  const B = 3, T = 16;
  const tokens = batch(rng, B * T, cfg.vocabSize);
  const targets = batch(rng, B * T, cfg.vocabSize);
  const results = [1, 2].map((threads) => {
    const model = new TrainModel(cfg, { batch: B, seqLen: T, threads });
    model.initialize(new Rng(5));
    model.zeroGrad();
    const loss = model.forward(tokens, targets, B, T);
    model.backward();
    const grads = model.grads.slice();
    model.dispose();
    return { loss, grads };
  });
  assert.equal(results[1].loss, results[0].loss);
  assert.deepEqual(results[1].grads, results[0].grads);
});

test("the WebAssembly path (matmuls and attention) agrees with the TypeScript path", () => {
  const cfg: TrainModelConfig = { ...tiny, vocabSize: 67, dim: 32, nHeads: 4, nKVHeads: 2, hiddenDim: 40, maxSeqLen: 16 };
  const rng = new Rng(25);
  const B = 2, T = 13;
  const tokens = batch(rng, B * T, cfg.vocabSize);
  const targets = batch(rng, B * T, cfg.vocabSize);
  const [js, wasm] = [false, true].map((useWasm) => {
    const model = new TrainModel(cfg, { batch: B, seqLen: 16, wasm: useWasm });
    randomize(model, new Rng(6));
    model.zeroGrad();
    const loss = model.forward(tokens, targets, B, T);
    model.backward();
    const grads = model.grads.slice();
    model.dispose();
    return { loss, grads };
  });
  assert.ok(Math.abs(js.loss - wasm.loss) < 1e-5, `loss ${js.loss} vs ${wasm.loss}`);
  assert.ok(relativeError(wasm.grads, js.grads) < 1e-4, `gradient relative error ${relativeError(wasm.grads, js.grads)}`);
});

test("overfits one batch: loss goes from ~log V to near zero", () => {
  const cfg: TrainModelConfig = { ...tiny, vocabSize: 32, dim: 32, nHeads: 4, nKVHeads: 2, hiddenDim: 64, maxSeqLen: 16 };
  const rng = new Rng(24);
  const B = 2, T = 16;
  const model = new TrainModel(cfg, { batch: B, seqLen: T });
  model.initialize(rng);
  const seq = batch(rng, B * (T + 1), cfg.vocabSize);
  const tokens = [...seq.slice(0, T), ...seq.slice(T + 1, 2 * T + 1)];
  const targets = [...seq.slice(1, T + 1), ...seq.slice(T + 2, 2 * T + 2)];
  const opt = new AdamW(model.table, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 });
  const first = model.forward(tokens, targets, B, T);
  assert.ok(Math.abs(first - Math.log(cfg.vocabSize)) < 0.2, `initial loss ${first}`);
  let loss = first;
  for (let step = 0; step < 150; step++) {
    model.zeroGrad();
    loss = model.forward(tokens, targets, B, T);
    model.backward();
    clipGradNorm(model.grads, 1);
    opt.update(model.params, model.grads, 1e-2);
  }
  assert.ok(loss < 0.05, `final loss ${loss}`);
});

test("bad token ids and oversized batches are LoomErrors", () => {
  const model = new TrainModel(tiny, { batch: 1, seqLen: 4, kind: "f64" });
  assert.throws(() => model.forward([1, 2, 99, 0], null, 1, 4), /token id 99 at position 2/);
  assert.throws(() => model.forward([1, 2, 3, 4, 5], null, 1, 5), /exceeds the allocated/);
  assert.throws(() => new TrainModel({ ...tiny, nHeads: 3 }, { batch: 1, seqLen: 4 }), /multiple of nHeads/);
});
