/**
 * Every RoPE scaling type inside a real model: tiny Llama/Qwen3 checkpoints whose config.json asks
 * for it, run on prompts longer than the original context, against the slow reference; GGUF twins
 * where the format can say it (linear and YaRN as keys, llama3 as a rope_freqs tensor).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { maxAbsDiff } from "../kernels/random.js";
import { tokenSequence } from "../models/run.js";
import { ggufModel, hfModel, inCalls, oneShot, prefillThenDecode } from "./build.js";
import { randomWeights, type Spec } from "./fixtures.js";
import { referenceForward } from "./reference.js";

const LLAMA: Spec = {
  family: "llama", vocab: 53, hidden: 32, layers: 2, heads: 2, kvHeads: 1, headDim: 16, ff: 40,
  maxPositions: 64, eps: 1e-5, theta: 10000, tied: false,
};
const QWEN3: Spec = { ...LLAMA, family: "qwen3", heads: 4, kvHeads: 2, headDim: 12 };

// Original context 16, prompts of 48: well past where the scaling starts to matter.
const CASES: [string, Spec, boolean][] = [
  ["linear", { ...LLAMA, ropeScaling: { rope_type: "linear", factor: 4 } }, true],
  ["dynamic NTK", { ...LLAMA, maxPositions: 16, ropeScaling: { rope_type: "dynamic", factor: 3 } }, false],
  ["yarn", { ...QWEN3, ropeScaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 16 } }, true],
  ["llama3", {
    ...LLAMA, theta: 500000,
    ropeScaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  }, true],
  ["longrope", {
    ...LLAMA, maxPositions: 64,
    ropeScaling: {
      rope_type: "longrope", original_max_position_embeddings: 16,
      short_factor: [1, 1.1, 1.2, 1.5, 2, 2.5, 3, 3.5], long_factor: [1, 1.5, 2, 3, 4, 6, 8, 12],
    },
  }, false],
];

for (const [label, spec, hasGGUF] of CASES) {
  const weights = randomWeights(spec, 61);
  const tokens = tokenSequence(48, spec.vocab, 11);

  test(`rope ${label}: model matches the slow reference past the original context`, async (t) => {
    // (Dynamic NTK's max_position_embeddings is the original context; Loom lets it run to factor × that.)
    const model = hfModel(spec, weights);
    const logits = await oneShot(model, tokens);
    const d = maxAbsDiff(logits, referenceForward(spec, weights, tokens));
    t.diagnostic(`max |Δlogit| vs reference: ${d}`);
    assert.ok(d < 1e-4, `max diff ${d}`);
    // The scaling matters: the unscaled model differs.
    assert.ok(maxAbsDiff(referenceForward({ ...spec, ropeScaling: undefined }, weights, tokens), logits) > 1e-3);
    // Chunked prefill serves the whole call's length, so it equals one pass even for length-dependent scalings.
    assert.equal(maxAbsDiff(await oneShot(model, tokens, {}, 5), logits), 0);
  });

  if (hasGGUF) {
    test(`rope ${label}: GGUF twin equals the HF checkpoint, one pass and decoding`, async (t) => {
      const hf = hfModel(spec, weights);
      const gguf = ggufModel(spec, weights);
      const d = maxAbsDiff(await oneShot(gguf, tokens), await oneShot(hf, tokens));
      const decoded = maxAbsDiff(await inCalls(gguf, tokens, prefillThenDecode(20, tokens.length)), await oneShot(hf, tokens));
      t.diagnostic(`max |Δlogit| GGUF vs HF: ${d}; GGUF decode vs HF one pass: ${decoded}`);
      assert.ok(d < 1e-5 && decoded < 1e-5, `max diff ${d}, ${decoded}`);
    });
  }
}
