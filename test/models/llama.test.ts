import { test } from "node:test";
import assert from "node:assert/strict";
import { buildLlama, llamaConfigFromGGUF, llamaConfigFromHF } from "../../src/models/llama.js";
import { llama3RopeFactors, ropeInvFreq } from "../../src/kernels/rope.js";
import { maxAbsDiff } from "../kernels/random.js";
import {
  LLAMA_SPEC, QWEN2_SPEC, llamaGGUFMetadata, llamaHFConfig, llamaToGGUF, memorySource, randomLlama, type TinyLlama,
} from "./fixtures.js";
import { referenceLlama } from "./reference-model.js";
import { argmaxRows, chunkedForward, fullForward, tokenSequence } from "./run.js";

function hfModel(s: TinyLlama, weights = randomLlama(s, 21)) {
  return buildLlama(llamaConfigFromHF(llamaHFConfig(s), "config.json", s.arch), memorySource("hf", weights), "hf");
}

function ggufModel(s: TinyLlama, weights = randomLlama(s, 21), extra = new Map()) {
  const tensors = llamaToGGUF(weights, s);
  for (const [k, v] of extra) tensors.set(k, v);
  const source = memorySource("model.gguf", tensors, llamaGGUFMetadata(s));
  if (s.arch === "mistral") throw new Error("mistral GGUF files use the llama architecture");
  return buildLlama(llamaConfigFromGGUF(source, s.arch), source, "gguf");
}

const LLAMA3_SPEC: TinyLlama = {
  ...LLAMA_SPEC, theta: 500000,
  // Scaled so that this tiny head's 4 frequencies fall in all three llama3 bands.
  llama3: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 2000 },
};

for (const [label, s] of [
  ["llama (GQA 4:2, untied head)", LLAMA_SPEC],
  ["qwen2 (MQA 3:1, q/k/v biases, tied head)", QWEN2_SPEC],
  ["llama with llama3 rope scaling", LLAMA3_SPEC],
] as const) {
  const weights = randomLlama(s, 21);
  const tokens = tokenSequence(24, s.vocab, 3);

  test(`${label}: matches the slow reference forward`, async (t) => {
    const logits = await fullForward(hfModel(s, weights), tokens);
    const d = maxAbsDiff(logits, referenceLlama(weights, s, tokens));
    t.diagnostic(`max diff ${d}`);
    assert.ok(d < 1e-4, `max diff ${d}`);
    assert.ok(new Set(argmaxRows(logits, s.vocab)).size > 3);
  });

  test(`${label}: incremental decode equals one full-sequence forward`, async (t) => {
    const model = hfModel(s, weights);
    const full = await fullForward(model, tokens);
    let worst = 0;
    for (const chunks of [[6, ...Array(18).fill(1)], [2, 1, 10, 3, 8]]) {
      worst = Math.max(worst, maxAbsDiff(await chunkedForward(model, tokens, chunks), full));
    }
    t.diagnostic(`max diff ${worst}`);
    assert.ok(worst < 1e-5, `max diff ${worst}`);
  });

  test(`${label}: GGUF twin gives the same logits`, async (t) => {
    // llama3 scaling reaches GGUF as a rope_freqs tensor, as llama.cpp's converter writes it.
    const extra = new Map();
    if (s.llama3) {
      const factors = llama3RopeFactors(ropeInvFreq(s.nEmbd / s.nHeads, s.theta), s.llama3);
      extra.set("rope_freqs.weight", { shape: [factors.length], data: Float32Array.from(factors) });
    }
    const d = maxAbsDiff(await fullForward(ggufModel(s, weights, extra), tokens), await fullForward(hfModel(s, weights), tokens));
    t.diagnostic(`max diff ${d}`);
    assert.ok(d < 1e-5, `max diff ${d}`);
  });
}

test("GGUF llama Q/K rows need adjacent-pair RoPE: reading them as NEOX would be wrong", async () => {
  // Guards the test itself: the permutation must matter, or the twin test proves nothing.
  const s = LLAMA_SPEC;
  const weights = randomLlama(s, 21);
  const tensors = llamaToGGUF(weights, s);
  const source = memorySource("model.gguf", tensors, llamaGGUFMetadata(s));
  const config = { ...llamaConfigFromGGUF(source, "llama"), ropeStyle: "neox" as const };
  const tokens = tokenSequence(10, s.vocab, 1);
  const wrong = await fullForward(buildLlama(config, source, "gguf"), tokens);
  assert.ok(maxAbsDiff(wrong, await fullForward(hfModel(s, weights), tokens)) > 1e-3);
});

test("mistral is a llama config (sliding window inactive below its size)", async () => {
  const s: TinyLlama = { ...LLAMA_SPEC, arch: "mistral" };
  const weights = randomLlama(s, 21);
  const config = llamaConfigFromHF({ ...llamaHFConfig(s), sliding_window: 4096 }, "config.json", "mistral");
  assert.equal(config.slidingWindow, 4096);
  const tokens = tokenSequence(12, s.vocab, 9);
  const logits = await fullForward(buildLlama(config, memorySource("hf", weights), "hf"), tokens);
  assert.ok(maxAbsDiff(logits, referenceLlama(weights, s, tokens)) < 1e-4);
});

test("a sliding window changes attention once the sequence is longer than the window", async () => {
  const s: TinyLlama = { ...LLAMA_SPEC, arch: "mistral" };
  const weights = randomLlama(s, 21);
  const tokens = tokenSequence(16, s.vocab, 9);
  const build = (window?: number) => buildLlama(
    llamaConfigFromHF({ ...llamaHFConfig(s), sliding_window: window ?? null }, "config.json", "mistral"),
    memorySource("hf", weights), "hf");
  const windowed = build(8);
  const full = await fullForward(windowed, tokens);
  const plain = await fullForward(build(), tokens);
  const vocab = s.vocab;
  // Rows before the window fills are identical; later rows differ.
  assert.deepEqual(full.subarray(0, 8 * vocab), plain.subarray(0, 8 * vocab));
  assert.ok(maxAbsDiff(full.subarray(10 * vocab), plain.subarray(10 * vocab)) > 1e-4);
  // And decoding token by token with the window equals the windowed full forward.
  assert.ok(maxAbsDiff(await chunkedForward(windowed, tokens, [3, ...Array(13).fill(1)]), full) < 1e-5);
});

test("llama config from HF maps fields and HF defaults", () => {
  const c = llamaConfigFromHF(
    { model_type: "llama", vocab_size: 100, hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 8, intermediate_size: 128, eos_token_id: [5, 6] },
    "config.json", "llama");
  assert.equal(c.numKVHeads, 8);
  assert.equal(c.headDim, 8);
  assert.equal(c.rmsNormEps, 1e-6);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.maxPositions, 2048);
  assert.deepEqual(c.eosTokenId, [5, 6]);
  assert.equal(c.ropeStyle, "neox");
  assert.equal(c.qkvBias, false);
  assert.equal(llamaConfigFromHF({ ...llamaHFConfig(QWEN2_SPEC) }, "config.json", "qwen2").qkvBias, true);
});
