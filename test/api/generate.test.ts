// model.generate / model.stream through the API: greedy equals plain argmax decoding and equals the
// CLI; generation_config.json defaults apply and the call wins; the attached tokenizer serves stop strings.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { AutoModelForCausalLM, AutoTokenizer, LoomError, generate as generateWith, loadCausalLM } from "../../src/index.js";
import { apiFixtures, argmaxDecode, EOS, GENERATION_CONFIG } from "./fixtures.js";

const fx = apiFixtures();
after(() => fx.cleanup());

const PROMPT = "In a shocking discovery, scientists found";

function cliGenerate(model: string, args: string[]): { ids: number[]; text: string } {
  const run = spawnSync(process.execPath, ["dist/src/cli/main.js", "generate", "--model", model, ...args, "--json"], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, HF_HUB_OFFLINE: "1" },
  });
  assert.equal(run.status, 0, `loom generate failed:\n${run.stderr}`);
  const lines = run.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as { ids: number[]; text: string };
}

test("greedy through the API equals plain argmax decoding and `loom generate --json`, on the folder and the GGUF", async () => {
  for (const path of [fx.hfDir, fx.ggufPath]) {
    const tokenizer = await AutoTokenizer.fromPretrained(path);
    const model = await AutoModelForCausalLM.fromPretrained(path);
    const inputIds = tokenizer.encode(PROMPT);
    const maxLength = inputIds.length + 12;
    const greedy = await model.generate(inputIds, { maxLength });
    assert.equal(greedy.length, 1);
    assert.deepEqual(greedy[0].slice(0, inputIds.length), inputIds, "sequences start with the prompt, as HF's");
    const newIds = greedy[0].slice(inputIds.length);

    const twin = await argmaxDecode(await loadCausalLM(path), inputIds, 12, EOS);
    assert.deepEqual(newIds, twin);

    const cli = cliGenerate(path, ["--prompt", PROMPT, "--max-length", String(maxLength)]);
    assert.deepEqual(cli.ids, newIds);
    assert.equal(cli.text, tokenizer.decode(newIds, { skipSpecialTokens: true }));
  }
});

test("`loom generate --stats` reports load, prompt and generation speed on stderr, stdout unchanged", () => {
  const run = spawnSync(process.execPath, ["dist/src/cli/main.js", "generate", "--model", fx.ggufPath,
    "--prompt-ids", "1,2,3,4,5", "--max-new-tokens", "6", "--min-new-tokens", "6", "--json", "--stats"], {
    encoding: "utf8", timeout: 30_000, env: { ...process.env, HF_HUB_OFFLINE: "1" },
  });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split("\n").pop()!) as { ids: number[] };
  assert.equal(result.ids.length, 6);
  const stats = /loom: load (\d+) ms · prompt 5 tokens to the first new one in (\d+) ms \(([\d.]+) tokens\/s\) · 5 more tokens in (\d+) ms \(([\d.]+|–) tokens\/s\)/.exec(run.stderr);
  assert.ok(stats, run.stderr);
});

test("stream() yields the greedy tokens, text deltas that add up to the decoded text, and a finish reason", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const inputIds = model.tokenizer!.encode(PROMPT);
  const [sequence] = await model.generate(inputIds, { maxNewTokens: 10 });
  const steps = [];
  for await (const step of model.stream(inputIds, { maxNewTokens: 10 })) steps.push(step);
  const ids = steps.map((s) => s.token);
  assert.deepEqual(ids, sequence.slice(inputIds.length));
  assert.equal(steps.map((s) => s.text).join(""), model.tokenizer!.decode(ids, { skipSpecialTokens: true }));
  assert.ok(steps.at(-1)!.finishReason === "length" || steps.at(-1)!.finishReason === "eos");
  assert.ok(steps.every((s) => s.logprob <= 0 && Number.isFinite(s.logprob)));
});

test("the HF example runs as written: greedy with maxLength 50, then sampling with temperature 0.7", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(fx.hfDir);
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const inputIds = tokenizer.encode(PROMPT);
  const greedy = await model.generate(inputIds, { maxLength: 50 });
  assert.ok(greedy[0].length <= 50);
  assert.equal(typeof tokenizer.decode(greedy[0], { skipSpecialTokens: true }), "string");
  const a = await model.generate(inputIds, { doSample: true, maxLength: 50, temperature: 0.7, seed: 3 });
  const b = await model.generate(inputIds, { doSample: true, maxLength: 50, temperature: 0.7, seed: 3 });
  assert.deepEqual(a, b, "the same seed gives the same text");
});

test("returnDictInGenerate gives HF's {sequences, sequencesScores} for beams, equal to the generation layer's", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const inputIds = model.tokenizer!.encode(PROMPT);
  const options = { numBeams: 3, numReturnSequences: 2, maxNewTokens: 4 };
  const out = await model.generate(inputIds, { ...options, returnDictInGenerate: true });
  const direct = await generateWith(await loadCausalLM(fx.hfDir), inputIds, options);
  assert.deepEqual(out.sequences, direct.sequences);
  assert.deepEqual(out.sequencesScores, direct.scores);
  assert.equal(out.sequences.length, 2);
  assert.deepEqual(out.newTokens, direct.newTokens);
  // Without the flag, the bare sequences (as HF).
  assert.deepEqual(await model.generate(inputIds, options), direct.sequences);
  const greedy = await model.generate(inputIds, { maxNewTokens: 3, returnDictInGenerate: true });
  assert.equal(greedy.sequencesScores, undefined);
  // A batch: rows padded as HF pads them.
  const batch = await model.generate([inputIds, inputIds.slice(0, 3)], { maxNewTokens: 3 });
  assert.equal(batch.length, 2);
  assert.equal(batch[0].length, batch[1].length);
});

test("generation_config.json defaults apply, the call wins, and model.generationConfig can be edited", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fx.genConfigDir);
  assert.equal(model.generationConfig.maxNewTokens, GENERATION_CONFIG.max_new_tokens);
  assert.equal(model.generationConfig.repetitionPenalty, GENERATION_CONFIG.repetition_penalty);
  const raw = await loadCausalLM(fx.hfDir); // the same weights, no defaults
  const inputIds = model.tokenizer!.encode(PROMPT);
  const fileOptions = { maxNewTokens: GENERATION_CONFIG.max_new_tokens, repetitionPenalty: GENERATION_CONFIG.repetition_penalty };

  const withDefaults = await model.generate(inputIds);
  assert.deepEqual(withDefaults, (await generateWith(raw, inputIds, fileOptions)).sequences);
  const plain = (await generateWith(raw, inputIds, { maxNewTokens: 4 })).sequences;
  assert.notDeepEqual(withDefaults, plain, "the repetition penalty from the file changes this fixture's greedy text");

  const overridden = await model.generate(inputIds, { maxNewTokens: 7, repetitionPenalty: 1 });
  assert.deepEqual(overridden, (await generateWith(raw, inputIds, { maxNewTokens: 7 })).sequences);

  model.generationConfig.maxNewTokens = 2;
  model.generationConfig.repetitionPenalty = undefined;
  assert.deepEqual(await model.generate(inputIds), (await generateWith(raw, inputIds, { maxNewTokens: 2 })).sequences);
  model.generationConfig.seed = 11; // Loom-only keys apply too
  model.generationConfig.doSample = true;
  assert.deepEqual(await model.generate(inputIds), (await generateWith(raw, inputIds, { maxNewTokens: 2, doSample: true, seed: 11 })).sequences);
});

test("stop strings work without passing a tokenizer: the model's own is attached", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const inputIds = model.tokenizer!.encode(PROMPT);
  const [free] = await model.generate(inputIds, { maxNewTokens: 8 });
  const freeText = model.tokenizer!.decode(free.slice(inputIds.length));
  // Stop on a piece of text the free run produces after its second token.
  const cutAt = model.tokenizer!.decode(free.slice(inputIds.length, inputIds.length + 2)).length;
  const stop = freeText.slice(cutAt - 1, cutAt);
  assert.ok(stop.length > 0);
  const out = await model.generate(inputIds, { maxNewTokens: 8, stopStrings: [stop], returnDictInGenerate: true });
  assert.equal(out.finishReasons[0], "stop");
  assert.ok(out.newTokens[0].length <= 2);
  const bare = await AutoModelForCausalLM.fromPretrained(fx.bareDir);
  await assert.rejects(bare.generate(inputIds, { stopStrings: ["x"] }), (e: unknown) => e instanceof LoomError && /tokenizer/.test(e.message));
  const tokenizer = await AutoTokenizer.fromPretrained(fx.hfDir);
  const viaOption = await bare.generate(inputIds, { maxNewTokens: 8, stopStrings: [stop], tokenizer, returnDictInGenerate: true });
  assert.deepEqual(viaOption.newTokens, out.newTokens);
});

test("bad options get HF's errors as LoomErrors", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const ids = model.tokenizer!.encode(PROMPT);
  const cases: [object, RegExp][] = [
    [{ doSample: true, temperature: 0 }, /temperature/],
    [{ topP: 1.5 }, /topP/],
    [{ numReturnSequences: 3 }, /numReturnSequences/],
    [{ maxLength: 3 }, /maxLength/],
    [{ max_new_tokens: 3 }, /Did you mean "maxNewTokens"/],
    [{ outputScores: true }, /outputScores/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(model.generate(ids, options as never), (e: unknown) => e instanceof LoomError && message.test(e.message), JSON.stringify(options));
  }
  await assert.rejects(async () => {
    for await (const step of model.stream(ids, { numBeams: 2 })) void step;
  }, LoomError);
});

test("the built CLI is executable, so `npx loom` (the package's bin) runs after any build", () => {
  // npm marks a package's bin executable only when it installs it; `npm run build` does it too,
  // so rebuilding dist (as `npm test` does) keeps `npx loom …` working.
  const mode = statSync("dist/src/cli/main.js").mode;
  assert.notEqual(mode & 0o111, 0, `dist/src/cli/main.js has mode ${mode.toString(8)}`);
  const run = spawnSync("dist/src/cli/main.js", ["--help"], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
});
