import { test } from "node:test";
import assert from "node:assert/strict";
import { LoomError } from "../../src/errors.js";
import type { ModelKVCache } from "../../src/nn/model-kv-cache.js";
import { maxAbsDiff } from "../kernels/random.js";
import { tokenSequence } from "../models/run.js";
import { hfModel, inCalls, oneShot, prefillThenDecode } from "./build.js";
import { randomWeights, type Spec } from "./fixtures.js";
import { referenceForward } from "./reference.js";

const SPEC: Spec = {
  family: "mistral", vocab: 61, hidden: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, ff: 48,
  maxPositions: 512, eps: 1e-5, theta: 10000, window: 6, tied: false,
};
const weights = randomWeights(SPEC, 51);
const tokens = tokenSequence(40, SPEC.vocab, 3);

test("mistral: sliding_window as HF means it — a query sees exactly `window` keys, itself included", async (t) => {
  const logits = await oneShot(hfModel(SPEC, weights), tokens);
  const d = maxAbsDiff(logits, referenceForward(SPEC, weights, tokens));
  t.diagnostic(`max |Δlogit| vs reference: ${d}`);
  assert.ok(d < 1e-4, `max diff ${d}`);
  // One key more or less would show.
  for (const window of [5, 7]) assert.ok(maxAbsDiff(referenceForward({ ...SPEC, window }, weights, tokens), logits) > 1e-3);
});

test("mistral: prefill, chunked prefill, decode and the rotating cache all agree bit for bit", async () => {
  const model = hfModel(SPEC, weights);
  const full = await oneShot(model, tokens, { windowed: "full" });
  assert.equal(maxAbsDiff(await oneShot(model, tokens), full), 0);
  assert.equal(maxAbsDiff(await oneShot(model, tokens, {}, 4), full), 0);
  assert.equal(maxAbsDiff(await inCalls(model, tokens, prefillThenDecode(9, tokens.length)), full), 0);
  assert.equal(maxAbsDiff(await inCalls(model, tokens, [5, 1, 6, 3, 11, 14]), full), 0);
});

test("mistral: the rotating cache's memory is bounded by the window; the full one grows", async () => {
  const model = hfModel(SPEC, weights);
  const rotating = model.createCache() as ModelKVCache;
  const full = model.createCache({ windowed: "full" }) as ModelKVCache;
  const long = tokenSequence(500, SPEC.vocab, 4);
  let pos = 0;
  const sizes: number[] = [];
  for (const size of [100, 150, 250]) {
    const part = long.slice(pos, pos + size);
    const [a, b] = [await model.forward(part, pos, rotating, { prefillChunk: 64 }), await model.forward(part, pos, full)];
    assert.equal(maxAbsDiff(a, b), 0);
    pos += size;
    sizes.push(rotating.byteLength);
  }
  const kvBytes = 2 * SPEC.layers * SPEC.kvHeads * SPEC.headDim * 4; // per position, all layers
  // Ring: window − 1 + one chunk (the default 512 headroom bounds it), whatever the length.
  assert.equal(sizes[2], sizes[1]);
  assert.ok(sizes[2] <= (SPEC.window! - 1 + 512) * kvBytes);
  assert.ok(full.byteLength >= 500 * kvBytes);
});

test("mistral: a rotating cache refuses to truncate past its window; a full one can", async () => {
  const model = hfModel(SPEC, weights);
  const rotating = model.createCache();
  const full = model.createCache({ windowed: "full" });
  for (let p = 0; p < 30; p++) {
    await model.forward([tokens[p]], p, rotating);
    await model.forward([tokens[p]], p, full);
  }
  assert.throws(() => rotating.truncate(5), LoomError);
  assert.equal(rotating.length, 30);
  rotating.truncate(28); // still inside what the ring holds
  const fork = full.clone();
  fork.truncate(5);
  assert.equal(fork.length, 5);
  full.truncate(28);
  const a = await model.forward(tokens.slice(28, 31), 28, rotating, { logits: "all" });
  const b = await model.forward(tokens.slice(28, 31), 28, full, { logits: "all" });
  assert.equal(maxAbsDiff(a, b), 0);
});
