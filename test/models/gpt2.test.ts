import { test } from "node:test";
import assert from "node:assert/strict";
import { buildGPT2, gpt2ConfigFromGGUF, gpt2ConfigFromHF } from "../../src/models/gpt2.js";
import { maxAbsDiff } from "../kernels/random.js";
import {
  GPT2_SPEC, gpt2GGUFMetadata, gpt2HFConfig, gpt2ToGGUF, memorySource, randomGPT2, transpose, type Tensors,
} from "./fixtures.js";
import { referenceGPT2 } from "./reference-model.js";
import { argmaxRows, chunkedForward, fullForward, tokenSequence } from "./run.js";

const s = GPT2_SPEC;
const weights = randomGPT2(s, 11);
const tokens = tokenSequence(20, s.vocab, 5);

function hfModel(t: Tensors = weights) {
  return buildGPT2(gpt2ConfigFromHF(gpt2HFConfig(s), "config.json"), memorySource("hf", t), "hf");
}

test("gpt2 matches the slow reference forward (Conv1D as written, tied head)", async (t) => {
  const logits = await fullForward(hfModel(), tokens);
  const expected = referenceGPT2(weights, s, tokens);
  const d = maxAbsDiff(logits, expected);
  t.diagnostic(`max diff ${d}`);
  assert.ok(d < 1e-4, `max diff ${d}`);
  // Random weights still give varied predictions (a degenerate model would hide bugs).
  assert.ok(new Set(argmaxRows(logits, s.vocab)).size > 3);
});

test("gpt2 incremental decode equals one full-sequence forward", async (t) => {
  const model = hfModel();
  const full = await fullForward(model, tokens);
  let worst = 0;
  for (const chunks of [[5, ...Array(15).fill(1)], [1, 1, 7, 2, 9], [20]]) {
    worst = Math.max(worst, maxAbsDiff(await chunkedForward(model, tokens, chunks), full));
  }
  t.diagnostic(`max diff ${worst}`);
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});

test("gpt2 logits 'last' is the last row of 'all'", async () => {
  const model = hfModel();
  const all = await fullForward(model, tokens);
  const last = await model.forward(tokens, 0, model.createCache());
  assert.equal(last.length, s.vocab);
  assert.deepEqual(last, all.subarray((tokens.length - 1) * s.vocab));
});

test("gpt2 GGUF twin (transposed weights, GGUF names and metadata) gives the same logits", async (t) => {
  const source = memorySource("model.gguf", gpt2ToGGUF(weights, s), gpt2GGUFMetadata(s));
  const config = gpt2ConfigFromGGUF(source);
  assert.equal(config.vocabSize, s.vocab);
  assert.equal(config.intermediateSize, s.nFF);
  const gguf = await fullForward(buildGPT2(config, source, "gguf"), tokens);
  const d = maxAbsDiff(gguf, await fullForward(hfModel(), tokens));
  t.diagnostic(`max diff ${d}`);
  assert.ok(d < 1e-6, `max diff ${d}`);
});

test("gpt2 without the transformer. prefix and with an explicit lm_head loads the same", async () => {
  const bare: Tensors = new Map([...weights].map(([name, x]) => [name.replace(/^transformer\./, ""), x]));
  bare.set("lm_head.weight", weights.get("transformer.wte.weight")!);
  const a = await fullForward(hfModel(bare), tokens);
  const b = await fullForward(hfModel(), tokens);
  assert.deepEqual(a, b);
});

test("gpt2 rejects a Conv1D weight stored the wrong way round, naming tensor and shapes", () => {
  const bad = new Map(weights);
  bad.set("transformer.h.1.mlp.c_fc.weight", transpose(weights.get("transformer.h.1.mlp.c_fc.weight")!));
  assert.throws(() => hfModel(bad), (e: Error) =>
    e.name === "LoomError" && e.message.includes("transformer.h.1.mlp.c_fc.weight") &&
    e.message.includes(`[${s.nFF}, ${s.nEmbd}]`) && e.message.includes(`[${s.nEmbd}, ${s.nFF}]`) && e.message.includes("hf"));
});
