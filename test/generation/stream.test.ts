import { test } from "node:test";
import assert from "node:assert/strict";
import { stream } from "../../src/generation/stream.js";
import { generate } from "../../src/generation/generate.js";
import { StopStringMatcher } from "../../src/generation/stopping.js";
import { ByteTokenizer, FakeModel, ScriptedModel, collect, logSoftmaxSlow } from "./fakes.js";

// Ids 3+4 spell "€" (E2 82 | AC), 5+6 spell "😀" (F0 9F | 98 80): tokens that split characters.
const pieces: (string | number[])[] = ["<eos>", "a", " b", [0xe2, 0x82], [0xac], [0xf0, 0x9f], [0x98, 0x80], "ST", "OP", "OP!x", "<sep>", "é", "\n"];
const tokenizer = new ByteTokenizer(pieces, new Set([0, 10]), 0);
const V = pieces.length;
const prompt = [1, 2];

const scripted = (script: number[]): ScriptedModel => new ScriptedModel(V, prompt.length, script, 0);

const hasLoneSurrogate = (s: string): boolean => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

test("streamed text never holds half a UTF-8 character, and adds up to the decoded sequence", async () => {
  const script = [1, 3, 4, 2, 5, 6, 11, 3, 4, 0];
  const steps = await collect(stream(scripted(script), prompt, { maxNewTokens: 20 }, tokenizer));
  assert.deepEqual(steps.map((s) => s.token), script);
  assert.deepEqual(steps.map((s) => s.text), ["a", "", "€", " b", "", "😀", "é", "", "€", ""]);
  for (const s of steps) assert.ok(!s.text.includes("\uFFFD") && !hasLoneSurrogate(s.text));
  assert.equal(steps.map((s) => s.text).join(""), tokenizer.decode(script, { skipSpecialTokens: true }));
  assert.deepEqual(steps.map((s) => s.finishReason), [...Array(9).fill(undefined), "eos"]);
});

test("sampled streams of random byte tokens still never split a character", async () => {
  const model = new FakeModel({ vocabSize: V, seed: 21, scale: 1 });
  for (const seed of [1, 2, 3]) {
    const steps = await collect(stream(model, prompt, { doSample: true, topK: 0, maxNewTokens: 40, seed }, tokenizer));
    const ids = steps.map((s) => s.token);
    for (const s of steps) assert.ok(!hasLoneSurrogate(s.text));
    assert.equal(steps.map((s) => s.text).join(""), tokenizer.decode(ids, { skipSpecialTokens: true }));
  }
});

test("each step reports the model's own log-probability of its token", async () => {
  const model = new FakeModel({ vocabSize: V, seed: 5 });
  const steps = await collect(stream(model, prompt, { maxNewTokens: 5, repetitionPenalty: 3 }, tokenizer));
  const context = [...prompt];
  for (const s of steps) {
    assert.ok(Math.abs(s.logprob - logSoftmaxSlow(model.logitsAfter(context))[s.token]) < 1e-9);
    context.push(s.token);
  }
});

test("a stop string spread over tokens stops generation with reason 'stop'", async () => {
  const steps = await collect(stream(scripted([1, 7, 8, 2, 2]), prompt, { maxNewTokens: 20, stopStrings: "STOP" }, tokenizer));
  assert.deepEqual(steps.map((s) => s.token), [1, 7, 8]);
  assert.equal(steps.map((s) => s.text).join(""), "aSTOP");
  assert.equal(steps.at(-1)?.finishReason, "stop");
});

test("text after the stop string inside the last token is dropped; the token stays", async () => {
  const steps = await collect(stream(scripted([1, 7, 9, 2]), prompt, { maxNewTokens: 20, stopStrings: ["STOP"] }, tokenizer));
  assert.deepEqual(steps.map((s) => s.token), [1, 7, 9]);
  assert.equal(steps.map((s) => s.text).join(""), "aSTOP");
  // Of several stop strings, the one that ends first cuts the text.
  const two = await collect(stream(scripted([1, 7, 9]), prompt, { maxNewTokens: 20, stopStrings: ["P!x", "TOP"] }, tokenizer));
  assert.equal(two.map((s) => s.text).join(""), "aSTOP");
  const generated = await generate(scripted([1, 7, 9, 2]), prompt, { maxNewTokens: 20, stopStrings: ["STOP"] }, tokenizer);
  assert.deepEqual(generated.sequences, [[...prompt, 1, 7, 9]]);
  assert.deepEqual(generated.finishReasons, ["stop"]);
});

test("stop strings match special tokens even when the streamed text hides them", async () => {
  const steps = await collect(stream(scripted([1, 10, 2]), prompt, { maxNewTokens: 20, stopStrings: "<sep>" }, tokenizer));
  assert.deepEqual(steps.map((s) => s.token), [1, 10]);
  assert.deepEqual(steps.map((s) => s.text), ["a", ""]);
  assert.equal(steps.at(-1)?.finishReason, "stop");
  const shown = await collect(stream(scripted([1, 10, 2]), prompt, { maxNewTokens: 20, stopStrings: "<sep>", skipSpecialTokens: false }, tokenizer));
  assert.equal(shown.map((s) => s.text).join(""), "a<sep>");
});

test("stop strings in beam search finish the hypotheses that contain them", async () => {
  const model = new FakeModel({ vocabSize: V, seed: 3 });
  const free = await generate(model, prompt, { numBeams: 2, maxNewTokens: 6, eosTokenId: 0 }, tokenizer);
  const text = tokenizer.decode(free.newTokens[0]);
  const stop = text.slice(1, 3);
  assert.ok(stop.length === 2 && !stop.includes("\uFFFD"), `fixture: a usable stop string in ${JSON.stringify(text)}`);
  const stopped = await generate(model, prompt, { numBeams: 2, maxNewTokens: 6, eosTokenId: 0, stopStrings: stop }, tokenizer);
  stopped.newTokens.forEach((tokens, i) => {
    if (stopped.finishReasons[i] === "stop") {
      assert.ok(tokenizer.decode(tokens).includes(stop));
      assert.ok(!tokenizer.decode(tokens.slice(0, -1)).includes(stop), "finished at the first token that completes it");
    }
  });
  assert.ok(stopped.finishReasons.includes("stop"));
});

test("StopStringMatcher reports how much text follows the earliest stop string", () => {
  const m = new StopStringMatcher(["abc", "cd"]);
  assert.equal(m.push("xa"), -1);
  assert.equal(m.push("b"), -1);
  assert.equal(m.push("cde"), 2); // "abc" ends before "cd"; "de" follows it
  const n = new StopStringMatcher(["\n\n"]);
  assert.equal(n.push("x\n"), -1);
  assert.equal(n.push("\n"), 0);
});

test("aborting mid-stream throws AbortError without another forward pass", async () => {
  const model = new FakeModel({ vocabSize: V, seed: 2 });
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const step of stream(model, prompt, { maxNewTokens: 50, signal: controller.signal }, tokenizer)) {
        seen.push(step.token);
        if (seen.length === 3) controller.abort();
      }
    })(),
    { name: "AbortError" },
  );
  assert.equal(seen.length, 3);
  assert.equal(model.forwardCalls, 3); // the prefill and the two forwards that produced steps 2 and 3
});

test("stream refuses what it cannot stream", async () => {
  const model = new FakeModel({ vocabSize: V });
  await assert.rejects(collect(stream(model, prompt, { numBeams: 2 })), /stream\(\) cannot be used with beam search/);
  await assert.rejects(collect(stream(model, prompt, { doSample: true, numReturnSequences: 2 })), /stream\(\) yields one sequence/);
  await assert.rejects(collect(stream(model, [[1], [2]] as never)), /stream\(\) takes one prompt, got 2/);
});
