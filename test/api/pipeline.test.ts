// pipeline("text-generation"): HF's output shapes for text, batches, chats, several sequences and
// token ids, the length default, and the errors for bad tasks, inputs and options.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { AutoModelForCausalLM, LoomError, pipeline, type Task } from "../../src/index.js";
import { apiFixtures, CHAT_TEMPLATE, EOS, SPEC } from "./fixtures.js";

const fx = apiFixtures();
after(() => fx.cleanup());

const PROMPT = "In a shocking discovery, scientists found";

test("text in, [{generated_text}] out: the full text by default, only the new text with returnFullText false", async () => {
  const pipe = await pipeline("text-generation", fx.hfDir);
  const model = pipe.model;
  const ids = pipe.tokenizer.encode(PROMPT);
  const [sequence] = await model.generate(ids, { maxNewTokens: 6 });
  const newText = pipe.tokenizer.decode(sequence.slice(ids.length), { skipSpecialTokens: true });

  const full = await pipe(PROMPT, { maxNewTokens: 6 });
  assert.deepEqual(full, [{ generated_text: PROMPT + newText }]);
  assert.equal(full[0].generated_text, pipe.tokenizer.decode(sequence, { skipSpecialTokens: true }));
  assert.deepEqual(await pipe(PROMPT, { maxNewTokens: 6, returnFullText: false }), [{ generated_text: newText }]);
  assert.deepEqual(await pipe(PROMPT, { maxNewTokens: 6, returnTensors: true }), [{ generated_token_ids: sequence }]);
});

test("a batch of prompts gives one list per prompt; numReturnSequences gives that many entries", async () => {
  const pipe = await pipeline("text-generation", fx.hfDir, { maxNewTokens: 4 });
  const prompts = [PROMPT, "Hello world"];
  const batch = await pipe(prompts);
  assert.equal(batch.length, 2);
  for (let i = 0; i < prompts.length; i++) {
    assert.deepEqual(batch[i], await pipe(prompts[i]), "each prompt runs on its own, as HF's batch size 1");
    assert.ok(batch[i][0].generated_text.startsWith(prompts[i]));
  }
  const sampled = await pipe(PROMPT, { doSample: true, numReturnSequences: 3, seed: 5 });
  assert.equal(sampled.length, 3);
  for (const s of sampled) assert.ok(s.generated_text.startsWith(PROMPT));
  assert.deepEqual(await pipe(PROMPT, { doSample: true, numReturnSequences: 3, seed: 5 }), sampled);
});

test("a chat is rendered with the chat template and answered with the conversation plus the assistant's reply", async () => {
  const pipe = await pipeline("text-generation", fx.hfDir, { maxNewTokens: 5 });
  const chat = [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Name a colour." },
  ];
  assert.ok(CHAT_TEMPLATE.includes("add_generation_prompt"));
  const rendered = pipe.tokenizer.applyChatTemplate(chat, { addGenerationPrompt: true });
  const ids = pipe.tokenizer.encode(rendered, { addSpecialTokens: false });
  const [sequence] = await pipe.model.generate(ids, { maxNewTokens: 5 });
  const reply = pipe.tokenizer.decode(sequence.slice(ids.length), { skipSpecialTokens: true });

  const out = await pipe(chat);
  assert.deepEqual(out, [{ generated_text: [...chat, { role: "assistant", content: reply }] }]);
  assert.deepEqual(await pipe(chat, { returnFullText: false }), [{ generated_text: reply }]);
  const batch = await pipe([chat, chat.slice(1)]);
  assert.equal(batch.length, 2);
  assert.deepEqual(batch[0], out);
});

test("with no length set anywhere the pipeline allows 256 new tokens, kept within the model's positions", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const pipe = await pipeline("text-generation", model);
  assert.equal(pipe.model, model, "a loaded model is used as it is");
  const [out] = await pipe(PROMPT, { returnTensors: true });
  const ids = (out as { generated_token_ids: number[] }).generated_token_ids;
  assert.ok(ids.length === SPEC.nPositions || ids.at(-1) === EOS, `length ${ids.length}`);
  // The model's generation defaults win over the pipeline's.
  model.generationConfig.maxNewTokens = 3;
  const [short] = await pipe(PROMPT, { returnTensors: true });
  assert.equal((short as { generated_token_ids: number[] }).generated_token_ids.length, pipe.tokenizer.encode(PROMPT).length + 3);
});

test("an empty prompt starts from the BOS token, as HF's", async () => {
  const pipe = await pipeline("text-generation", fx.hfDir, { maxNewTokens: 3 });
  const [sequence] = await pipe.model.generate([EOS], { maxNewTokens: 3 });
  assert.deepEqual(await pipe(""), [{ generated_text: pipe.tokenizer.decode(sequence, { skipSpecialTokens: true }) }]);
});

test("a model without a tokenizer can borrow one by path", async () => {
  const pipe = await pipeline("text-generation", fx.bareDir, { tokenizer: fx.hfDir, maxNewTokens: 3 });
  const reference = await pipeline("text-generation", fx.hfDir, { maxNewTokens: 3 });
  assert.deepEqual(await pipe(PROMPT), await reference(PROMPT));
});

test("bad tasks, inputs and options are LoomErrors", async () => {
  await assert.rejects(pipeline("summarization" as Task, fx.hfDir), (e: unknown) => e instanceof LoomError && /text-generation/.test(e.message));
  await assert.rejects(pipeline("text-generation", fx.bareDir), (e: unknown) => e instanceof LoomError && /no tokenizer/.test(e.message));
  await assert.rejects(pipeline("text-generation", fx.hfDir, { maxNewTokenz: 3 } as never), (e: unknown) => e instanceof LoomError && /maxNewTokenz/.test(e.message));
  const pipe = await pipeline("text-generation", fx.hfDir, { maxNewTokens: 2 });
  const bad: [unknown, object | undefined, RegExp][] = [
    [[], undefined, /non-empty/],
    [42, undefined, /must be a string/],
    [[{ role: "user" }], undefined, /"role" and "content"/],
    [PROMPT, { returnFullText: true, returnTensors: true }, /mutually exclusive/],
    [PROMPT, { temperature: -1, doSample: true }, /temperature/],
    [PROMPT, { return_full_text: false }, /unknown text-generation option/],
  ];
  for (const [input, options, message] of bad) {
    await assert.rejects(pipe(input as string, options as never), (e: unknown) => e instanceof LoomError && message.test(e.message), String(message));
  }
});
