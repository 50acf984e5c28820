import { test } from "node:test";
import assert from "node:assert/strict";
import { buildLlama, llamaConfigFromHF } from "../../src/models/llama.js";
import { DenseKVCache } from "../../src/nn/kv-cache.js";
import { LLAMA_SPEC, llamaHFConfig, memorySource, randomLlama } from "./fixtures.js";
import { tokenSequence } from "./run.js";

const s = LLAMA_SPEC;
const model = buildLlama(llamaConfigFromHF(llamaHFConfig(s), "config.json", "llama"), memorySource("hf", randomLlama(s, 21)), "hf");
const tokens = tokenSequence(30, s.vocab, 8);

test("truncate then re-run gives the logits of the original run", async () => {
  const cache = model.createCache();
  await model.forward(tokens.slice(0, 20), 0, cache);
  const expected = await model.forward(tokens.slice(20, 25), 20, cache, { logits: "all" });
  cache.truncate(20);
  assert.equal(cache.length, 20);
  const again = await model.forward(tokens.slice(20, 25), 20, cache, { logits: "all" });
  assert.deepEqual(again, expected);
});

test("a clone is independent of its original", async () => {
  const cache = model.createCache();
  await model.forward(tokens.slice(0, 10), 0, cache);
  const fork = cache.clone();
  assert.equal(fork.length, 10);
  const a = await model.forward([tokens[10]], 10, cache);
  await model.forward([3, 4, 5], 11, cache); // the original moves on
  const b = await model.forward([tokens[10]], 10, fork);
  assert.deepEqual(b, a);
  assert.equal(cache.length, 14);
  assert.equal(fork.length, 11);
});

test("the dense cache grows in chunks and keeps earlier rows", () => {
  const cache = new DenseKVCache(2, 4, 1000);
  cache.reserve(3);
  assert.equal(cache.allocated, 256);
  cache.keys(1).set([1, 2, 3, 4], 2 * 4);
  cache.commit(3);
  cache.reserve(300);
  assert.equal(cache.allocated, 512);
  assert.deepEqual(Array.from(cache.keys(1).subarray(8, 12)), [1, 2, 3, 4]);
  cache.reserve(900);
  assert.equal(cache.allocated, 1000); // capped at maxLength
  assert.throws(() => cache.reserve(1001), /context too long/);
  assert.throws(() => cache.truncate(-1), /truncate/);
});

test("trace reports named activations per layer", async () => {
  const seen = new Map<string, number>();
  await model.forward(tokens.slice(0, 4), 0, model.createCache(), {
    trace: (name, layer, data) => { seen.set(`${name}@${layer}`, data.length); },
  });
  const d = s.nEmbd, kvDim = s.nKVHeads * d / s.nHeads;
  assert.equal(seen.get("embd@-1"), 4 * d);
  assert.equal(seen.get("q@0"), 4 * d);
  assert.equal(seen.get("k@1"), 4 * kvDim);
  assert.equal(seen.get("l_out@1"), 4 * d);
  assert.equal(seen.get("result_norm@-1"), d);
});
