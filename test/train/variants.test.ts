// The experiment variants (post-norm, GELU MLP, learned positions): each new op and each block
// wiring against central finite differences in double precision, and VariantModel with the Llama
// variant against the trainer's own TrainModel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/train/rng.js";
import { TrainModel } from "../../src/train/model.js";
import { paramTable } from "../../src/train/config.js";
import { geluBackward, geluForward } from "../../src/train/ops/gelu.js";
import { positionBackward, positionForward } from "../../src/train/ops/positions.js";
import { VariantModel } from "../../src/train/variants/model.js";
import { LLAMA_VARIANT, type Variant, type VariantConfig } from "../../src/train/variants/config.js";
import { numericGradient, project, randomF64, relativeError } from "./helpers.js";

test("gelu backward matches finite differences, and gelu has the tanh form's exact identities", () => {
  const rng = new Rng(31);
  const n = 40;
  const u = randomF64(n, rng, 2);
  const r = randomF64(n, rng);
  const h = new Float64Array(n);
  const loss = (): number => (geluForward(h, u, n), project(h, r));
  const du = new Float64Array(n);
  geluBackward(du, r, u, n);
  assert.ok(relativeError(du, numericGradient(loss, u)) < 1e-7);
  // gelu(0) = 0, and gelu(x) − gelu(−x) = ½x(1 + t) + ½x(1 − t) = x exactly, since tanh is odd
  const pts = Float64Array.from([0, 1.3, -1.3]);
  const out = new Float64Array(3);
  geluForward(out, pts, 3);
  assert.equal(out[0], 0);
  assert.ok(Math.abs(out[1] - out[2] - 1.3) < 1e-12);
});

test("learned position embedding backward matches finite differences; rows past T get no gradient", () => {
  const rng = new Rng(32);
  const B = 3, T = 4, C = 5, rows = 7;
  const N = B * T;
  const table = randomF64(rows * C, rng);
  const base = randomF64(N * C, rng);
  const r = randomF64(N * C, rng);
  const x = new Float64Array(N * C);
  const loss = (): number => (x.set(base), positionForward(x, table, N, T, C), project(x, r));
  const dTable = new Float64Array(rows * C);
  positionBackward(dTable, r, N, T, C);
  assert.ok(relativeError(dTable, numericGradient(loss, table)) < 1e-7);
  for (let i = T * C; i < rows * C; i++) assert.equal(dTable[i], 0);
});

const tiny = { vocabSize: 13, dim: 8, nLayers: 2, nHeads: 2, nKVHeads: 1, hiddenDim: 12, maxSeqLen: 8, ropeTheta: 10000, normEps: 1e-5 };

function randomize(model: VariantModel | TrainModel, rng: Rng): void {
  for (const e of model.table) {
    for (let i = e.offset; i < e.offset + e.size; i++) model.params[i] = e.shape.length === 1 ? 1 + 0.2 * rng.normal() : 0.4 * rng.normal();
  }
}

const variants: Variant[] = [
  { norm: "post", mlp: "swiglu", positions: "rope" },
  { norm: "pre", mlp: "gelu", positions: "rope" },
  { norm: "pre", mlp: "swiglu", positions: "learned" },
  { norm: "post", mlp: "gelu", positions: "learned" },
];

for (const variant of variants) {
  test(`variant model gradient equals finite differences: ${JSON.stringify(variant)}`, () => {
    const rng = new Rng(41);
    const B = 2, T = 5;
    const config: VariantConfig = { ...tiny, variant };
    const model = new VariantModel(config, { batch: B, seqLen: T, kind: "f64" });
    randomize(model, rng);
    const tokens = Array.from({ length: B * T }, () => rng.int(tiny.vocabSize));
    const targets = Array.from({ length: B * T }, () => rng.int(tiny.vocabSize));
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
    if (variant.positions === "learned") {
      const wpe = model.table.find((e) => e.name === "model.embed_positions.weight")!;
      for (let i = wpe.offset + T * tiny.dim; i < wpe.offset + wpe.size; i++) assert.equal(model.grads[i], 0);
    }
  });
}

test("the Llama variant has TrainModel's layout and gives its loss and gradients exactly", () => {
  const config: VariantConfig = { ...tiny, variant: LLAMA_VARIANT };
  assert.deepEqual(paramTable(config, config.variant), paramTable(tiny));
  const B = 2, T = 6;
  const rng = new Rng(42);
  const ours = new VariantModel(config, { batch: B, seqLen: T, kind: "f64" });
  const theirs = new TrainModel(tiny, { batch: B, seqLen: T, kind: "f64" });
  randomize(theirs, rng);
  ours.params.set(theirs.params);
  const tokens = Array.from({ length: B * T }, () => rng.int(tiny.vocabSize));
  const targets = Array.from({ length: B * T }, () => rng.int(tiny.vocabSize));
  for (const m of [ours, theirs]) {
    m.zeroGrad();
    m.forward(tokens, targets, B, T);
    m.backward();
  }
  assert.equal(ours.forward(tokens, targets, B, T), theirs.forward(tokens, targets, B, T));
  assert.deepEqual(Array.from(ours.grads), Array.from(theirs.grads));
});

test("the f32 WebAssembly path agrees with the f64 reference for a post-norm GELU learned-position model", () => {
  const config: VariantConfig = { ...tiny, vocabSize: 67, dim: 32, nHeads: 4, nKVHeads: 2, hiddenDim: 48, maxSeqLen: 16, variant: { norm: "post", mlp: "gelu", positions: "learned" } };
  const B = 2, T = 16;
  const rng = new Rng(43);
  const tokens = Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  const targets = Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  const run = (kind: "f32" | "f64"): { loss: number; grads: Float64Array } => {
    const m = new VariantModel(config, { batch: B, seqLen: T, kind, threads: 2 });
    m.initialize(new Rng(5));
    m.zeroGrad();
    const loss = m.forward(tokens, targets, B, T);
    m.backward();
    const grads = Float64Array.from(m.grads);
    m.dispose();
    return { loss, grads };
  };
  const a = run("f32");
  const b = run("f64");
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4);
  assert.ok(relativeError(a.grads, b.grads) < 1e-3);
});
