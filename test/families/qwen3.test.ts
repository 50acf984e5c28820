import { test } from "node:test";
import assert from "node:assert/strict";
import { llamaConfigFromGGUF, llamaConfigFromHF } from "../../src/models/llama.js";
import { maxAbsDiff } from "../kernels/random.js";
import { memorySource } from "../models/fixtures.js";
import { argmaxRows, tokenSequence } from "../models/run.js";
import { ggufModel, ggufTensors, hfModel, inCalls, oneShot, prefillThenDecode } from "./build.js";
import { ggufMetadata, hfConfig, randomWeights, type Spec } from "./fixtures.js";
import { referenceForward } from "./reference.js";

/** head_dim 10 while hidden/heads is 6: Qwen3 sizes heads on their own. */
const SPEC: Spec = {
  family: "qwen3", vocab: 67, hidden: 24, layers: 3, heads: 4, kvHeads: 2, headDim: 10, ff: 40,
  maxPositions: 96, eps: 1e-6, theta: 1_000_000, tied: false,
};
const weights = randomWeights(SPEC, 41);
const tokens = tokenSequence(30, SPEC.vocab, 7);

test("qwen3: HF forward (per-head q/k RMSNorm before RoPE, explicit head_dim) matches the slow reference", async (t) => {
  const logits = await oneShot(hfModel(SPEC, weights), tokens);
  const d = maxAbsDiff(logits, referenceForward(SPEC, weights, tokens));
  t.diagnostic(`max |Δlogit| vs reference: ${d}`);
  assert.ok(d < 1e-4, `max diff ${d}`);
  assert.ok(new Set(argmaxRows(logits, SPEC.vocab)).size > 3);
  // The q/k norms matter: the same weights as a plain Llama would differ.
  assert.ok(maxAbsDiff(referenceForward({ ...SPEC, family: "llama" }, weights, tokens), logits) > 1e-3);
});

test("qwen3: GGUF twin (NEOX, attn_q_norm/attn_k_norm, key_length) equals the HF checkpoint", async (t) => {
  const d = maxAbsDiff(await oneShot(ggufModel(SPEC, weights), tokens), await oneShot(hfModel(SPEC, weights), tokens));
  t.diagnostic(`max |Δlogit| GGUF vs HF: ${d}`);
  assert.ok(d < 1e-5, `max diff ${d}`);
  const c = llamaConfigFromGGUF(memorySource("m.gguf", ggufTensors(SPEC, weights), ggufMetadata(SPEC)), "qwen3");
  assert.equal(c.headDim, 10);
  assert.equal(c.ropeStyle, "neox");
  assert.equal(c.qkNorm, true);
  assert.equal(c.qkvBias, false);
});

test("qwen3: decode and chunked prefill equal one forward, bit for bit", async () => {
  const model = hfModel(SPEC, weights);
  const full = await oneShot(model, tokens);
  assert.equal(maxAbsDiff(await inCalls(model, tokens, prefillThenDecode(4, tokens.length)), full), 0);
  assert.equal(maxAbsDiff(await oneShot(model, tokens, {}, 7), full), 0);
});

test("qwen3: use_sliding_window slides the layers from max_window_layers on, as HF does", async (t) => {
  const windowed: Spec = { ...SPEC, window: 4, layerTypes: ["full_attention", "sliding_attention", "sliding_attention"] };
  const json = { ...hfConfig(SPEC), use_sliding_window: true, sliding_window: 4, max_window_layers: 1 };
  const c = llamaConfigFromHF(json, "config.json", "qwen3");
  assert.deepEqual(c.layerTypes, windowed.layerTypes);
  const logits = await oneShot(hfModel(SPEC, weights, json), tokens);
  const d = maxAbsDiff(logits, referenceForward(windowed, weights, tokens));
  t.diagnostic(`max |Δlogit| vs windowed reference: ${d}`);
  assert.ok(d < 1e-4, `max diff ${d}`);
  // Without use_sliding_window the window is ignored (HF: sliding_window only counts when enabled).
  assert.ok(llamaConfigFromHF({ ...json, use_sliding_window: false }, "config.json", "qwen3").layerTypes.every((k) => k === "full_attention"));
});

test("qwen3: HF defaults — head_dim 128 when config.json omits it", () => {
  const json = { ...hfConfig(SPEC), hidden_size: 256, num_attention_heads: 4 };
  delete (json as Record<string, unknown>).head_dim;
  assert.equal(llamaConfigFromHF(json, "config.json", "qwen3").headDim, 128);
});
