// Prompts of thousands of tokens: chunked prefill (the default 512, and a chunk that does not divide
// the prompt) gives the one-shot prefill's logits bit for bit and the same greedy continuation, for a
// Llama and for a Gemma 3 whose sliding layer keeps only its window in a rotating cache; the
// generation API, which prefills with the default chunk, continues the prompt the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generate } from "../../src/generation/index.js";
import { ModelKVCache } from "../../src/nn/model-kv-cache.js";
import { hfModel } from "../families/build.js";
import { randomWeights, type Spec } from "../families/fixtures.js";
import { maxAbsDiff } from "../kernels/random.js";
import { GEMMA3_LONG, greedyRun, LLAMA_LONG, longPrompt } from "./helpers.js";

const PROMPT_TOKENS = 3000;
const NEW_TOKENS = 8;

for (const [name, spec, seed] of [["llama", LLAMA_LONG, 11], ["gemma3", GEMMA3_LONG, 12]] as [string, Spec, number][]) {
  test(`${name}: a ${PROMPT_TOKENS}-token prompt prefilled in chunks equals one-shot prefill, bit for bit; so does generate()`, async () => {
    const model = hfModel(spec, randomWeights(spec, seed));
    const prompt = longPrompt(PROMPT_TOKENS, spec.vocab, seed);
    const oneShot = await greedyRun(model, prompt, NEW_TOKENS, PROMPT_TOKENS);
    assert.ok(oneShot.ids.length > 1, "the continuation should be longer than one token for the comparison to bite");
    for (const chunk of [undefined, 700]) {
      const chunked = await greedyRun(model, prompt, NEW_TOKENS, chunk);
      assert.deepEqual(chunked.ids, oneShot.ids, `chunk ${chunk ?? "default"}: greedy ids`);
      chunked.logits.forEach((row, step) => {
        assert.equal(maxAbsDiff(row, oneShot.logits[step]), 0, `chunk ${chunk ?? "default"}: logits of step ${step} differ`);
      });
    }
    const result = await generate(model, prompt, { maxNewTokens: NEW_TOKENS });
    assert.deepEqual(result.newTokens[0], oneShot.ids);
    assert.deepEqual(result.sequences[0], [...prompt, ...oneShot.ids]);
  });
}

test("gemma3: over a long prompt the sliding layer's ring stays within its window plus one chunk, and gives the full cache's logits", async () => {
  const spec = GEMMA3_LONG;
  const model = hfModel(spec, randomWeights(spec, 13));
  const prompt = longPrompt(PROMPT_TOKENS, spec.vocab, 13);
  const rotating = model.createCache();
  const full = model.createCache({ windowed: "full" });
  assert.ok(rotating instanceof ModelKVCache && full instanceof ModelKVCache);
  const a = await model.forward(prompt, 0, rotating);
  const b = await model.forward(prompt, 0, full);
  assert.equal(maxAbsDiff(a, b), 0);
  // "full" keeps both layers dense and alike; "rotating" keeps one of them dense and the sliding one in a ring.
  const denseLayerBytes = full.byteLength / 2;
  const ringBytes = rotating.byteLength - denseLayerBytes;
  const kvRowBytes = 2 * spec.kvHeads * spec.headDim * 4; // keys + values of one position, f32
  assert.ok(denseLayerBytes >= PROMPT_TOKENS * kvRowBytes, `a dense layer of ${denseLayerBytes} bytes cannot hold ${PROMPT_TOKENS} positions`);
  assert.ok(ringBytes <= (spec.window! + 512) * kvRowBytes, `the ring holds ${ringBytes} bytes, more than window + one chunk`);
});
