/** `loom tokenize`: the JSONL protocol and the readable view, on Mistral's tokenizer.json. */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { join } from "node:path";
import { test } from "node:test";
import { tokenizeCommand } from "../../src/cli/tokenize.js";
import { LoomError } from "../../src/errors.js";
import { hfTokenizer, lenmlDir, lenmlFiles } from "./helpers.js";

const modelPath = join(lenmlDir("llama2"), "tokenizer.json");

async function run(argv: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (b: Buffer) => out.push(b));
  stderr.on("data", (b: Buffer) => err.push(b));
  stdin.end(input);
  const code = await tokenizeCommand(argv, { stdin, stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

test("--jsonl writes HF's ids and decodes, one line per input line", async () => {
  const texts = ["Hello world", "  two  spaces ", "<s>special</s> 😀", ""];
  const input = texts.map((text) => JSON.stringify({ text })).join("\n") + "\n";
  const { code, stdout } = await run(["--model", modelPath, "--jsonl"], input);
  assert.equal(code, 0);
  const hf = hfTokenizer(lenmlFiles("llama2"));
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as { ids: number[]; decoded: string });
  assert.equal(lines.length, texts.length);
  texts.forEach((text, i) => {
    const ids = hf.encode(text).ids;
    assert.deepEqual(lines[i]!.ids, ids);
    assert.equal(lines[i]!.decoded, hf.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
  });
});

test("--jsonl reports a bad line with its number", async () => {
  const { code, stderr } = await run(["--model", modelPath, "--jsonl"], '{"text": "ok"}\nnot json\n');
  assert.equal(code, 1);
  assert.match(stderr, /line 2/);
});

test("the readable view lists id, piece and text per token", async () => {
  const { code, stdout } = await run(["--model", modelPath, "--text", "Hi there"], "");
  assert.equal(code, 0);
  const ids = hfTokenizer(lenmlFiles("llama2")).encode("Hi there").ids;
  assert.match(stdout, new RegExp(`^${ids.length} tokens\n`));
  for (const id of ids) assert.match(stdout, new RegExp(`\\b${id}\\b`));
  assert.match(stdout, /"▁there"\s+" there"/);
});

test("a missing --model or path is a LoomError", async () => {
  await assert.rejects(run([], ""), LoomError);
  await assert.rejects(run(["--model", "/nonexistent/tokenizer.json"], ""), LoomError);
});
