import { test } from "node:test";
import assert from "node:assert/strict";
import { LoomError } from "../../src/errors.js";
import { fromGenerationConfig, lengthBudget, resolveGenerationOptions } from "../../src/generation/options.js";
import { generate } from "../../src/generation/generate.js";
import { FakeModel } from "./fakes.js";

const rejects = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof LoomError && pattern.test(e.message));
};

test("defaults are transformers' GenerationConfig defaults", () => {
  const o = resolveGenerationOptions({});
  assert.equal(o.maxLength, 20);
  assert.equal(o.topK, 50);
  assert.equal(o.topP, 1);
  assert.equal(o.temperature, 1);
  assert.equal(o.typicalP, 1);
  assert.equal(o.numBeams, 1);
  assert.equal(o.lengthPenalty, 1);
  assert.equal(o.earlyStopping, false);
  assert.equal(o.doSample, false);
  assert.equal(o.minP, undefined);
});

test("options merge as defaults <- model config <- generation_config.json <- call", () => {
  const generationConfig = {
    eos_token_id: [1, 2],
    do_sample: true,
    temperature: 0.6,
    top_p: 0.9,
    min_p: null, // null means unset
    transformers_version: "4.44.0", // keys Loom does not use are ignored
    _from_model_config: true,
    bos_token_id: 1,
  };
  const sources = { modelConfig: { eosTokenId: 7, padTokenId: 9 }, generationConfig };
  const fromFile = resolveGenerationOptions({}, sources);
  assert.deepEqual(fromFile.eosTokenIds, [1, 2]);
  assert.equal(fromFile.padTokenId, 9);
  assert.equal(fromFile.doSample, true);
  assert.equal(fromFile.temperature, 0.6);
  assert.equal(fromFile.topP, 0.9);
  assert.equal(fromFile.minP, undefined);
  const fromCall = resolveGenerationOptions({ eosTokenId: 3, temperature: 1.2 }, sources);
  assert.deepEqual(fromCall.eosTokenIds, [3]);
  assert.equal(fromCall.temperature, 1.2);
  assert.equal(fromCall.topP, 0.9);
  // undefined in the call means "not set", so the file's value stays.
  assert.equal(resolveGenerationOptions({ temperature: undefined }, sources).temperature, 0.6);
});

test("padTokenId falls back to the first EOS id, then the tokenizer's", () => {
  assert.equal(resolveGenerationOptions({ eosTokenId: [4, 5] }).padTokenId, 4);
  assert.equal(resolveGenerationOptions({}, { tokenizer: { eosTokenId: 8, padTokenId: 2 } }).padTokenId, 8);
  assert.equal(resolveGenerationOptions({}, { tokenizer: { eosTokenId: undefined, padTokenId: 2 } }).padTokenId, 2);
});

test("generation_config.json keys map from snake_case and bad values name the file", () => {
  assert.deepEqual(fromGenerationConfig({ max_new_tokens: 5, no_repeat_ngram_size: 3, early_stopping: "never" }), {
    maxNewTokens: 5,
    noRepeatNgramSize: 3,
    earlyStopping: "never",
  });
  rejects(() => fromGenerationConfig({ top_p: 2 }), /generation_config\.json: top_p has to be a float in \(0, 1\], but is 2/);
  rejects(() => fromGenerationConfig([1]), /generation_config\.json must hold a JSON object/);
});

test("unknown option names are rejected with a suggestion and the valid list", () => {
  rejects(() => resolveGenerationOptions({ max_new_tokens: 5 }), /unknown generation option "max_new_tokens"\. Did you mean "maxNewTokens"\?/);
  rejects(() => resolveGenerationOptions({ tempreature: 0.5 }), /Did you mean "temperature"\?/);
  rejects(() => resolveGenerationOptions({ banana: 1 }), /unknown generation option "banana"\. Valid options: maxLength, maxNewTokens/);
});

test("bad values get HF's errors", () => {
  rejects(() => resolveGenerationOptions({ doSample: true, temperature: 0 }), /temperature \(=0\) has to be a strictly positive float/);
  rejects(() => resolveGenerationOptions({ doSample: true, temperature: -1 }), /strictly positive/);
  assert.equal(resolveGenerationOptions({ temperature: 0 }).temperature, 0); // greedy ignores it, as HF does
  rejects(() => resolveGenerationOptions({ topP: 0 }), /topP has to be a float in \(0, 1\], but is 0/);
  rejects(() => resolveGenerationOptions({ topP: 1.5 }), /topP has to be a float in \(0, 1\]/);
  assert.equal(resolveGenerationOptions({ topP: 1 }).topP, 1);
  rejects(() => resolveGenerationOptions({ numBeams: 2, numReturnSequences: 3 }), /numReturnSequences \(3\) has to be smaller or equal to numBeams \(2\)/);
  rejects(() => resolveGenerationOptions({ numReturnSequences: 2 }), /greedy decoding without beam search does not support numReturnSequences/);
  assert.equal(resolveGenerationOptions({ numReturnSequences: 2, doSample: true }).numReturnSequences, 2);
  rejects(() => resolveGenerationOptions({ earlyStopping: "sometimes" as never }), /earlyStopping must be a boolean or "never"/);
  rejects(() => resolveGenerationOptions({ maxNewTokens: 0 }), /maxNewTokens must be greater than 0, but is 0/);
  rejects(() => resolveGenerationOptions({ topK: -1 }), /topK has to be a non-negative integer/);
  rejects(() => resolveGenerationOptions({ typicalP: 0 }), /typicalP has to be a float in \(0, 1\]/);
  rejects(() => resolveGenerationOptions({ minP: 1.1 }), /minP has to be a float in \[0, 1\]/);
  rejects(() => resolveGenerationOptions({ repetitionPenalty: 0 }), /repetitionPenalty has to be a strictly positive float/);
  rejects(() => resolveGenerationOptions({ eosTokenId: [] }), /eosTokenId must be a token id or a non-empty array/);
  rejects(() => resolveGenerationOptions({ stopStrings: [""] }), /stopStrings must be a non-empty string/);
  rejects(() => resolveGenerationOptions({ numBeams: 1.5 }), /numBeams must be an integer >= 1, but is 1\.5/);
  rejects(() => resolveGenerationOptions("fast" as never), /generation options must be an object/);
});

test("length rules: 20 new tokens by default, maxNewTokens wins, maxLength counts the prompt", () => {
  const budget = (options: object, prompt: number, maxPositions?: number, generationConfig?: object) =>
    lengthBudget(resolveGenerationOptions(options, { generationConfig }), prompt, maxPositions).maxNewTokens;
  assert.equal(budget({}, 7), 20);
  assert.equal(budget({}, 7, 15), 8); // the default is capped at the model's positions
  assert.equal(budget({ maxLength: 10 }, 7), 3);
  assert.equal(budget({ maxLength: 10, maxNewTokens: 6 }, 7), 6);
  assert.equal(budget({}, 7, undefined, { max_length: 50 }), 43); // a configured maxLength is a total
  assert.equal(budget({}, 7, undefined, { max_length: 20 }), 20); // HF treats a configured 20 as the default
  assert.equal(budget({ maxLength: 20 }, 7), 13); // but not one passed to the call
  const o = resolveGenerationOptions({ minLength: 9, minNewTokens: 4 });
  assert.equal(lengthBudget(o, 7).minLength, 11); // minNewTokens wins, counted after the prompt
  rejects(() => lengthBudget(resolveGenerationOptions({ maxLength: 5 }), 5), /input length of input_ids is 5, but maxLength is set to 5/);
});

test("generate rejects a prompt already at maxLength and malformed prompts", async () => {
  const model = new FakeModel({ vocabSize: 10 });
  await assert.rejects(generate(model, [1, 2, 3], { maxLength: 3 }), /input length of input_ids is 3, but maxLength is set to 3/);
  await assert.rejects(generate(model, [1, 99]), /prompt 0, position 1: 99 is not a token id of this model \(vocabulary 10\)/);
  await assert.rejects(generate(model, []), /inputIds must be a non-empty array/);
  await assert.rejects(generate(model, [[1], []]), /prompt 1 is empty/);
  await assert.rejects(generate(model, [1], { stopStrings: "x" }), /stopStrings \["x"\] need the model's tokenizer/);
});
