import { test } from "node:test";
import assert from "node:assert/strict";
import { gemma3ConfigFromGGUF, gemma3ConfigFromHF } from "../../src/models/gemma3.js";
import type { ModelKVCache } from "../../src/nn/model-kv-cache.js";
import { maxAbsDiff } from "../kernels/random.js";
import { memorySource, type Tensors } from "../models/fixtures.js";
import { argmaxRows, tokenSequence } from "../models/run.js";
import { ggufModel, ggufTensors, hfModel, inCalls, oneShot, prefillThenDecode } from "./build.js";
import { ggufMetadata, hfConfig, layerTypesOf, randomWeights, type Spec } from "./fixtures.js";
import { explicitMask, maskedAttention, referenceForward } from "./reference.js";

/** HF semantics in full: pattern 3, a head size that is not hidden/heads, query_pre_attn_scalar ≠ head_dim, soft-caps, linear scaling on global layers. */
const HF_SPEC: Spec = {
  family: "gemma3", vocab: 71, hidden: 32, layers: 7, heads: 4, kvHeads: 2, headDim: 12, ff: 48,
  maxPositions: 128, eps: 1e-6, theta: 1_000_000, localTheta: 10000, window: 5, pattern: 3,
  queryPreAttnScalar: 20, attnSoftCap: 2, finalSoftCap: 5,
  ropeScaling: { rope_type: "linear", factor: 4 }, tied: true,
};
/** What GGUF (and llama.cpp) can express: no attention soft-cap, scale 1/√head_dim. */
const TWIN_SPEC: Spec = { ...HF_SPEC, queryPreAttnScalar: undefined, attnSoftCap: undefined };

const weights = randomWeights(HF_SPEC, 31);
const tokens = tokenSequence(40, HF_SPEC.vocab, 5); // 8× the window, through global and local layers

test("gemma3: HF forward matches the slow reference (window, local/global RoPE, q/k norms, soft-caps)", async (t) => {
  const logits = await oneShot(hfModel(HF_SPEC, weights), tokens);
  const d = maxAbsDiff(logits, referenceForward(HF_SPEC, weights, tokens));
  t.diagnostic(`max |Δlogit| vs reference: ${d}`);
  assert.ok(d < 1e-4, `max diff ${d}`);
  assert.ok(new Set(argmaxRows(logits, HF_SPEC.vocab)).size > 3);
});

test("gemma3: the HF semantics matter — a wrong scale, window or local base would show", async () => {
  const right = referenceForward(HF_SPEC, weights, tokens);
  for (const wrong of [
    { ...HF_SPEC, queryPreAttnScalar: HF_SPEC.headDim },
    { ...HF_SPEC, window: 6 },
    { ...HF_SPEC, localTheta: HF_SPEC.theta },
  ]) {
    assert.ok(maxAbsDiff(referenceForward(wrong, weights, tokens), right) > 1e-3);
  }
});

test("gemma3: GGUF twin (norms stored as w + 1, pattern key) equals the HF checkpoint", async (t) => {
  const d = maxAbsDiff(await oneShot(ggufModel(TWIN_SPEC, weights), tokens), await oneShot(hfModel(TWIN_SPEC, weights), tokens));
  t.diagnostic(`max |Δlogit| GGUF vs HF: ${d}`);
  assert.ok(d < 1e-5, `max diff ${d}`);
});

test("gemma3: incremental decode and chunked prefill equal one forward, bit for bit", async () => {
  const model = hfModel(HF_SPEC, weights);
  const full = await oneShot(model, tokens);
  assert.equal(maxAbsDiff(await inCalls(model, tokens, prefillThenDecode(3, tokens.length)), full), 0);
  assert.equal(maxAbsDiff(await inCalls(model, tokens, [7, 1, 13, 2, 17]), full), 0);
  assert.equal(maxAbsDiff(await oneShot(model, tokens, {}, 6), full), 0);
});

test("gemma3: rotating cache equals a full cache with the window mask; its memory stops at the window", async () => {
  const model = hfModel(HF_SPEC, weights);
  const sizes = prefillThenDecode(8, tokens.length);
  const rotating = await inCalls(model, tokens, sizes);
  assert.equal(maxAbsDiff(rotating, await inCalls(model, tokens, sizes, { windowed: "full" })), 0);

  const cache = model.createCache() as ModelKVCache;
  const sizesAt: number[] = [];
  for (let p = 0; p < 100; p++) {
    await model.forward([tokenSequence(1, HF_SPEC.vocab, p)[0]], p, cache);
    sizesAt.push(cache.byteLength);
  }
  const full = model.createCache({ windowed: "full" }) as ModelKVCache;
  await model.forward(tokenSequence(100, HF_SPEC.vocab, 2), 0, full);
  assert.ok(sizesAt[99] < full.byteLength, `${sizesAt[99]} vs ${full.byteLength}`);
  // Only the two global layers keep growing: 5 sliding layers hold a bounded ring.
  const kvRow = 2 * HF_SPEC.kvHeads * HF_SPEC.headDim * 4;
  assert.ok(sizesAt[99] - sizesAt[49] <= 2 * 256 * kvRow, "sliding layers grew with the sequence");
});

test("gemma3: flash attention inside the model equals naive attention on the same q, k, v", async (t) => {
  const model = hfModel(HF_SPEC, weights);
  const seen = new Map<string, Float32Array>();
  await model.forward(tokens, 0, model.createCache(), { trace: (name, layer, data) => seen.set(`${name}@${layer}`, Float32Array.from(data)) });
  const kinds = layerTypesOf(HF_SPEC);
  const n = tokens.length, s = HF_SPEC;
  let worst = 0;
  for (let l = 0; l < s.layers; l++) {
    const mask = explicitMask(n, kinds[l] === "sliding_attention" ? s.window : undefined);
    const naive = maskedAttention(seen.get(`q@${l}`)!, seen.get(`k@${l}`)!, seen.get(`v@${l}`)!, n, s.heads, s.kvHeads, s.headDim,
      1 / Math.sqrt(s.queryPreAttnScalar!), mask, s.attnSoftCap);
    worst = Math.max(worst, maxAbsDiff(seen.get(`attn_context@${l}`)!, naive));
  }
  t.diagnostic(`max |Δ| flash vs naive over ${s.layers} layers: ${worst}`);
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});

test("gemma3: config — layer_types, transformers-5 rope_parameters, multimodal text_config and GGUF defaults", async () => {
  const json = hfConfig(HF_SPEC);
  const byPattern = gemma3ConfigFromHF(json, "config.json");
  assert.deepEqual(byPattern.layerTypes, layerTypesOf(HF_SPEC));
  const explicit = gemma3ConfigFromHF({ ...json, sliding_window_pattern: undefined, layer_types: layerTypesOf(HF_SPEC) }, "config.json");
  assert.deepEqual(explicit.layerTypes, byPattern.layerTypes);
  // transformers 5: one rope object per layer type, each with its own theta.
  const v5 = gemma3ConfigFromHF({
    ...json, rope_scaling: undefined, rope_theta: undefined, rope_local_base_freq: undefined,
    rope_parameters: {
      full_attention: { rope_type: "linear", factor: 4, rope_theta: 1_000_000 },
      sliding_attention: { rope_type: "default", rope_theta: 10000 },
    },
  }, "config.json");
  assert.equal(v5.ropeTheta, 1_000_000);
  assert.equal(v5.ropeLocalTheta, 10000);
  assert.deepEqual(v5.ropeScaling, byPattern.ropeScaling);
  assert.equal(v5.localRopeScaling.type, "none");
  assert.equal(byPattern.attentionScale, 1 / Math.sqrt(20));

  // GGUF: no pattern key means llama.cpp's 6; no window key means every layer is global.
  const twin = ggufTensors(TWIN_SPEC, weights);
  const meta = ggufMetadata({ ...TWIN_SPEC, pattern: undefined });
  const c6 = gemma3ConfigFromGGUF(memorySource("m.gguf", twin, meta));
  assert.deepEqual(c6.layerTypes, layerTypesOf({ ...TWIN_SPEC, pattern: 6 }));
  assert.equal(c6.attentionScale, 1 / Math.sqrt(TWIN_SPEC.headDim));
  const noWindow = gemma3ConfigFromGGUF(memorySource("m.gguf", twin, meta.filter((e) => !e.key.endsWith("sliding_window"))));
  assert.ok(noWindow.layerTypes.every((k) => k === "full_attention"));
  // llama.cpp's attention scale for the 62-layer (27B) model: 1/√(nEmbd/nHeads), HF's query_pre_attn_scalar there.
  const layers62 = meta.map((e) => (e.key === "gemma3.block_count" ? { ...e, value: 62 } : e));
  const big = gemma3ConfigFromGGUF(memorySource("m.gguf", twin, layers62));
  assert.equal(big.attentionScale, 1 / Math.sqrt(TWIN_SPEC.hidden / TWIN_SPEC.heads));
});

test("gemma3: a multimodal checkpoint (text_config, model.language_model.* weights) runs its text model", async (t) => {
  const prefixed: Tensors = new Map([...weights].map(([name, x]) => [name.replace(/^model\./, "model.language_model."), x]));
  prefixed.set("model.vision_tower.something.weight", { shape: [2], data: new Float32Array(2) });
  const json = { model_type: "gemma3", architectures: ["Gemma3ForConditionalGeneration"], text_config: hfConfig(HF_SPEC) };
  const d = maxAbsDiff(await oneShot(hfModel(HF_SPEC, prefixed, json), tokens), await oneShot(hfModel(HF_SPEC, weights), tokens));
  t.diagnostic(`max diff ${d}`);
  assert.equal(d, 0);
});
