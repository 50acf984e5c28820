import { test } from "node:test";
import assert from "node:assert/strict";
import { generate } from "../../src/generation/generate.js";
import { stream } from "../../src/generation/stream.js";
import { TextStreamer } from "../../src/generation/streamer.js";
import { ByteTokenizer, FakeModel, collect } from "./fakes.js";

/** Greedy the slow way: argmax of the cache-free logits, one token at a time. */
function greedyRollout(model: FakeModel, prompt: number[], n: number, eos: number[] = []): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const logits = Array.from(model.logitsAfter([...prompt, ...out]));
    const best = logits.indexOf(Math.max(...logits));
    out.push(best);
    if (eos.includes(best)) break;
  }
  return out;
}

test("greedy generate equals the slow argmax rollout and returns prompt + new tokens", async () => {
  const model = new FakeModel({ vocabSize: 40, seed: 3 });
  const prompt = [5, 6, 7];
  const result = await generate(model, prompt, { maxNewTokens: 12 });
  assert.deepEqual(result.sequences, [[...prompt, ...greedyRollout(model, prompt, 12)]]);
  assert.deepEqual(result.finishReasons, ["length"]);
  assert.equal(result.scores, undefined);
});

test("with no length set anywhere, 20 new tokens are generated", async () => {
  const model = new FakeModel({ vocabSize: 30 });
  const result = await generate(model, [1, 2]);
  assert.equal(result.newTokens[0].length, 20);
  assert.equal((await generate(model, [1, 2], { maxLength: 9 })).sequences[0].length, 9);
});

test("EOS ends a sequence (one id or several) and is kept in it", async () => {
  const model = new FakeModel({ vocabSize: 12, seed: 6, eosTokenId: [0, 1], eosBias: 2.5 });
  const prompt = [4, 5];
  const expected = greedyRollout(model, prompt, 30, [0, 1]);
  assert.ok(expected.length < 30 && [0, 1].includes(expected.at(-1) ?? -1), "fixture: EOS comes early");
  const result = await generate(model, prompt, { maxNewTokens: 30 });
  assert.deepEqual(result.newTokens[0], expected);
  assert.deepEqual(result.finishReasons, ["eos"]);
  // The call's eosTokenId replaces the model's.
  const other = await generate(model, prompt, { maxNewTokens: 30, eosTokenId: 11 });
  assert.deepEqual(other.newTokens[0], greedyRollout(model, prompt, 30, [11]));
});

test("minNewTokens keeps EOS away for that many tokens", async () => {
  const model = new FakeModel({ vocabSize: 8, seed: 2, eosTokenId: 0, eosBias: 50 });
  assert.deepEqual((await generate(model, [3], { maxNewTokens: 10 })).newTokens[0], [0]);
  const held = await generate(model, [3], { maxNewTokens: 10, minNewTokens: 4 });
  assert.equal(held.newTokens[0].length, 5);
  assert.ok(held.newTokens[0].slice(0, 4).every((t) => t !== 0));
  assert.equal(held.newTokens[0][4], 0);
  const total = await generate(model, [3], { maxNewTokens: 10, minLength: 3 }); // prompt counts
  assert.equal(total.newTokens[0].length, 3);
});

test("a batch is left-padded, finished rows right-padded, each row equal to its lone run", async () => {
  const model = new FakeModel({ vocabSize: 20, seed: 9, eosTokenId: 0, eosBias: 1.5, padTokenId: 19 });
  const prompts = [[1, 2, 3, 4], [5], [6, 7]];
  const batch = await generate(model, prompts, { maxNewTokens: 8 });
  const lone = await Promise.all(prompts.map((p) => generate(model, p, { maxNewTokens: 8 })));
  const longest = Math.max(...lone.map((r) => r.newTokens[0].length));
  assert.ok(new Set(lone.map((r) => r.newTokens[0].length)).size > 1, "fixture: rows finish at different times");
  batch.sequences.forEach((row, i) => {
    const left = 4 - prompts[i].length;
    const mine = lone[i].newTokens[0];
    assert.deepEqual(row, [...Array(left).fill(19), ...prompts[i], ...mine, ...Array(longest - mine.length).fill(19)]);
    assert.equal(batch.finishReasons[i], lone[i].finishReasons[0]);
  });
  // maxLength counts the padded prompt, as in HF: every row gets maxLength - 4 new tokens at most.
  const capped = await generate(model, prompts, { maxLength: 6 });
  capped.newTokens.forEach((t) => assert.ok(t.length <= 2));
  // The same batch given left-padded with an attention mask.
  const padded = prompts.map((p) => [...Array(4 - p.length).fill(19), ...p]);
  const attentionMask = prompts.map((p) => [...Array(4 - p.length).fill(0), ...p.map(() => 1)]);
  assert.deepEqual((await generate(model, padded, { maxNewTokens: 8, attentionMask })).sequences, batch.sequences);
});

test("rows of different lengths without any pad or EOS id is a clear error", async () => {
  const model = new FakeModel({ vocabSize: 10 });
  await assert.rejects(generate(model, [[1], [2, 3]], { maxNewTokens: 2 }), /neither padTokenId nor eosTokenId is known/);
});

test("sampling: the same seed gives the same tokens, numReturnSequences rows per prompt", async () => {
  const model = new FakeModel({ vocabSize: 50, seed: 4 });
  const options = { doSample: true, temperature: 1.5, topK: 0, maxNewTokens: 10, seed: 1234 };
  const a = await generate(model, [1, 2], options);
  assert.deepEqual(await generate(model, [1, 2], options), a);
  const b = await generate(model, [1, 2], { ...options, seed: 4321 });
  assert.notDeepEqual(b.sequences, a.sequences);
  // Row 0 of a batch or of several return sequences draws what a lone prompt draws, and stream agrees.
  const many = await generate(model, [[1, 2], [3]], { ...options, numReturnSequences: 3, padTokenId: 0 });
  assert.equal(many.sequences.length, 6);
  assert.deepEqual(many.sequences[0], a.sequences[0]);
  assert.equal(new Set(many.sequences.slice(0, 3).map((s) => s.join())).size, 3, "copies differ");
  const streamed = await collect(stream(model, [1, 2], options));
  assert.deepEqual(streamed.map((s) => s.token), a.newTokens[0]);
});

test("the model's generation_config.json applies unless the call overrides it", async () => {
  const model = new FakeModel({ vocabSize: 50, seed: 4 });
  model.generationConfig = { do_sample: true, temperature: 2.0, top_k: 0, max_new_tokens: 6 };
  const sampled = await generate(model, [1, 2], { seed: 7 });
  assert.equal(sampled.newTokens[0].length, 6);
  assert.deepEqual(sampled, await generate(model, [1, 2], { seed: 7, doSample: true, temperature: 2.0, topK: 0, maxNewTokens: 6 }));
  const greedy = await generate(model, [1, 2], { doSample: false });
  assert.deepEqual(greedy.newTokens[0], greedyRollout(model, [1, 2], 6));
});

test("TextStreamer receives the prompt, then every token, and prints complete text", async () => {
  const tokenizer = new ByteTokenizer(["<eos>", "a", " b", [0xe2, 0x82], [0xac], "c"], new Set([0]), 0);
  const model = new FakeModel({ vocabSize: 6, seed: 12 });
  const printed: string[] = [];
  let ends = 0;
  const streamer = new TextStreamer(tokenizer, {
    skipPrompt: true,
    onText: (text, end) => {
      printed.push(text);
      if (end) ends++;
    },
  });
  const result = await generate(model, [1, 2], { maxNewTokens: 15, streamer }, tokenizer);
  assert.equal(printed.join(""), tokenizer.decode(result.newTokens[0]));
  assert.equal(ends, 1);
  assert.ok(printed.every((t) => !t.includes("\uFFFD") || tokenizer.decode(result.newTokens[0]).includes("\uFFFD")));
  const withPrompt: string[] = [];
  await generate(model, [1, 2], { maxNewTokens: 3, streamer: new TextStreamer(tokenizer, { onText: (t) => withPrompt.push(t) }) }, tokenizer);
  assert.ok(withPrompt.join("").startsWith("a b"));
  await assert.rejects(generate(model, [[1], [2]], { streamer }), /a streamer follows exactly one sequence/);
});

test("an aborted signal rejects generate, before or during the run", async () => {
  const model = new FakeModel({ vocabSize: 10 });
  const before = new AbortController();
  before.abort();
  await assert.rejects(generate(model, [1], { signal: before.signal }), { name: "AbortError" });
  assert.equal(model.forwardCalls, 0);
  const during = new AbortController();
  let seen = 0;
  const streamer = { put: () => (++seen === 3 ? during.abort() : undefined), end: () => undefined };
  await assert.rejects(generate(model, [1], { maxNewTokens: 50, signal: during.signal, streamer }), { name: "AbortError" });
  assert.ok(model.forwardCalls <= 3);
  await assert.rejects(generate(model, [1], { numBeams: 2, maxNewTokens: 50, signal: before.signal }), { name: "AbortError" });
});
