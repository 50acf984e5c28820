/**
 * Checks on the oracle itself, so the comparisons rest on known llama.cpp behaviour:
 *   - the fast top-5 path (greedy confidence + a top-k-5 pass) equals the whole-vocabulary softmax
 *     node-llama-cpp returns at temperature 0, which in turn holds every token, sums to 1 and puts
 *     the greedy token first — i.e. at temperature 0 `probabilities` is a plain softmax;
 *   - end of generation: with `yieldEogToken` the EOS token is yielded and decoding goes on with it
 *     in the context (as Loom's plain greedy loop does); without it, generation stops silently.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Token } from "node-llama-cpp";
import { openGGUF } from "../../src/weights/gguf.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import { ensureFixtures, type Fixtures } from "../../scripts/make-fixtures.js";
import { getLlamaCpp, openLlamaCpp } from "./llamacpp.js";
import { PROMPTS } from "./prompts.js";

let fixtures: Fixtures;
const dir = mkdtempSync(join(tmpdir(), "loom-oracle-"));
before(async () => {
  fixtures = await ensureFixtures();
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await (await getLlamaCpp()).dispose();
});

test("the fast top-5 path equals llama.cpp's whole-vocabulary softmax at temperature 0", async () => {
  for (const path of [fixtures.models.gpt2.gguf.q8_0, fixtures.models.llama.gguf.f32]) {
    const oracle = await openLlamaCpp(path);
    try {
      assert.equal(oracle.vocabSize, 50257);
      const fast = await oracle.greedy(PROMPTS[1].ids, 3);
      const slow = await oracle.greedyWholeVocabulary(PROMPTS[1].ids, 3);
      assert.deepEqual(fast.map((s) => s.top.map((t) => t.id)), slow.map((s) => s.top.map((t) => t.id)));
      fast.forEach((step, i) => step.top.forEach((t, j) => {
        assert.ok(Math.abs(t.logprob - slow[i].top[j].logprob) < 1e-5, `${path} step ${i}: ${t.logprob} vs ${slow[i].top[j].logprob}`);
      }));
    } finally {
      await oracle.dispose();
    }
  }
});

test("an EOS token is yielded and decoding continues with yieldEogToken, and stops without it", async () => {
  const source = fixtures.models.gpt2.gguf.f32;
  const prompt = PROMPTS[0].ids;
  const plain = await openLlamaCpp(source);
  const expected = await plain.greedy(prompt, 3);
  await plain.dispose();

  // The same model, but its first greedy token is declared the end-of-sequence token.
  const eos = expected[0].token;
  const file = openGGUF(source);
  const withEos = join(dir, "gpt2-eos.gguf");
  writeGGUF(withEos, {
    metadata: file.entries.map((e) => (e.key === "tokenizer.ggml.eos_token_id" ? { ...e, value: eos } : e)),
    tensors: file.tensorInfos.map(({ name }) => {
      const raw = file.get(name);
      return { name, dtype: raw.dtype, shape: raw.shape, data: raw.bytes };
    }),
  });
  file.close?.();

  const oracle = await openLlamaCpp(withEos);
  try {
    const steps = await oracle.greedy(prompt, 3);
    assert.deepEqual(steps.map((s) => s.token), expected.map((s) => s.token), "yieldEogToken: the EOS token comes out and decoding continues");
  } finally {
    await oracle.dispose();
  }

  const llama = await getLlamaCpp();
  const model = await llama.loadModel({ modelPath: withEos, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  try {
    assert.ok(model.isEogToken(eos as Token));
    const yielded: number[] = [];
    for await (const out of context.getSequence().evaluateWithMetadata(prompt as Token[], {}, { temperature: 0 })) {
      yielded.push(Number(out.token));
      if (yielded.length >= 3) break;
    }
    assert.deepEqual(yielded, [], "without yieldEogToken, generation ends at the EOS token without yielding it");
  } finally {
    await context.dispose();
    await model.dispose();
  }
});
