/** Malformed files fail with a LoomError that names the culprit; odd text and ids never crash. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LoomError } from "../../src/errors.js";
import { loadTokenizer, tokenizerFromGGUFMetadata, tokenizerFromHfFiles } from "../../src/tokenizers/index.js";
import { utf8DecodeLossy } from "../../src/tokenizers/unicode.js";
import type { MetaValue } from "../../src/weights/source.js";
import { gpt2Files, lenmlFiles } from "./helpers.js";

/** A tiny valid tokenizer.json to break one field at a time. */
function tiny(): Record<string, unknown> {
  return {
    added_tokens: [{ id: 3, content: "<s>", special: true }],
    normalizer: null,
    pre_tokenizer: { type: "Split", pattern: { String: " " }, behavior: "Isolated", invert: false },
    post_processor: null,
    decoder: { type: "Fuse" },
    model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2, "<s>": 3 }, merges: ["a b"] },
  };
}

function expectError(mutate: (json: Record<string, unknown>) => void, pattern: RegExp): void {
  const json = tiny();
  mutate(json);
  assert.throws(() => tokenizerFromHfFiles({ tokenizerJson: json, origin: "tiny.json" }), (error: unknown) => {
    assert.ok(error instanceof LoomError, `expected a LoomError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test("the tiny tokenizer itself works", () => {
  const tok = tokenizerFromHfFiles({ tokenizerJson: tiny() });
  assert.deepEqual(tok.encode("ab<s>ba"), [2, 3, 1, 0]);
});

test("malformed tokenizer.json files name what is wrong", () => {
  assert.throws(() => tokenizerFromHfFiles({ tokenizerJson: [1, 2], origin: "x.json" }), /x\.json: expected an object/);
  expectError((j) => delete j.model, /no "model" section/);
  expectError((j) => ((j.model as Record<string, unknown>).type = "WordPiece"), /model\.type.*"WordPiece" is not supported/);
  expectError((j) => ((j.model as Record<string, unknown>).vocab = { a: "zero" }), /model\.vocab\["a"\].*non-negative integer/);
  expectError((j) => ((j.model as Record<string, unknown>).vocab = [1, 2]), /model\.vocab: expected an object/);
  expectError((j) => ((j.model as Record<string, unknown>).merges = [42]), /model\.merges\[0\]/);
  expectError((j) => ((j.model as Record<string, unknown>).merges = ["ab"]), /model\.merges\[0\].*no space/);
  expectError((j) => ((j.model as Record<string, unknown>).merges = ["a c"]), /model\.merges\[0\].*"c".*not in the vocabulary/);
  expectError((j) => ((j.model as Record<string, unknown>).unk_token = "<unk>"), /unk_token.*"<unk>" is not in the vocabulary/);
  expectError((j) => (j.added_tokens = [{ content: "<s>" }]), /added_tokens\[0\]\.id: expected an integer/);
  expectError((j) => (j.added_tokens = [{ id: 3, content: 7 }]), /added_tokens\[0\]\.content: expected a string/);
  expectError((j) => (j.normalizer = { type: "Shout" }), /normalizer\.type.*unknown normalizer type "Shout"/);
  expectError((j) => (j.normalizer = { type: "Sequence", normalizers: [{ type: "NFC" }, { nope: 1 }] }), /normalizer\.normalizers\[1\]\.type: expected a string/);
  expectError((j) => (j.pre_tokenizer = { type: "Split", pattern: { Regex: "(?>a)" } }), /atomic groups/);
  expectError((j) => (j.pre_tokenizer = { type: "Split", pattern: { Glob: "*" } }), /pattern: expected \{"String": …\} or \{"Regex": …\}/);
  expectError((j) => (j.pre_tokenizer = { type: "Split", pattern: { String: " " }, behavior: "Sideways" }), /behavior.*"Sideways"/);
  expectError((j) => (j.pre_tokenizer = { type: "Teleport" }), /pre_tokenizer\.type.*unknown pre-tokenizer type "Teleport"/);
  expectError((j) => (j.post_processor = { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<bos>", type_id: 0 } }], special_tokens: {} }), /"<bos>" is missing from special_tokens/);
  expectError((j) => (j.decoder = { type: "Unscramble" }), /decoder\.type.*unknown decoder type "Unscramble"/);
  expectError((j) => (j.decoder = { type: "Strip", content: " ", start: "one" }), /decoder\.start: expected an integer/);
});

test("unreadable paths and files are LoomErrors", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-bad-"));
  try {
    await assert.rejects(loadTokenizer(join(dir, "missing.json")), /does not exist/);
    await assert.rejects(loadTokenizer(dir), /no tokenizer\.json, and no vocab\.json \+ merges\.txt/);
    writeFileSync(join(dir, "tokenizer.json"), "{ not json");
    await assert.rejects(loadTokenizer(join(dir, "tokenizer.json")), /tokenizer\.json is not valid JSON/);
    writeFileSync(join(dir, "broken.gguf"), "GGUX0000000000000000000000");
    await assert.rejects(loadTokenizer(join(dir, "broken.gguf")), LoomError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad GGUF tokenizer metadata names the key", () => {
  const base = (): Map<string, MetaValue> =>
    new Map<string, MetaValue>([
      ["tokenizer.ggml.model", "gpt2"],
      ["tokenizer.ggml.tokens", ["a", "b", "ab"]],
      ["tokenizer.ggml.merges", ["a b"]],
    ]);
  assert.deepEqual(tokenizerFromGGUFMetadata(base()).encode("ab"), [2]);
  const broken = (edit: (m: Map<string, MetaValue>) => void, pattern: RegExp) => {
    const meta = base();
    edit(meta);
    assert.throws(() => tokenizerFromGGUFMetadata(meta), (e: unknown) => e instanceof LoomError && pattern.test(e.message));
  };
  broken((m) => m.delete("tokenizer.ggml.model"), /no tokenizer\.ggml\.model/);
  // A whole tokenizer.json embedded as tokenizer.huggingface.json is read instead.
  const embedded = new Map<string, MetaValue>([["tokenizer.huggingface.json", JSON.stringify(tiny())]]);
  assert.deepEqual(tokenizerFromGGUFMetadata(embedded).encode("ab<s>ba"), [2, 3, 1, 0]);
  embedded.set("tokenizer.huggingface.json", "{oops");
  assert.throws(() => tokenizerFromGGUFMetadata(embedded), /tokenizer\.huggingface\.json is not valid JSON/);
  broken((m) => m.set("tokenizer.ggml.model", "bert"), /"bert" is not supported/);
  broken((m) => m.delete("tokenizer.ggml.tokens"), /tokenizer\.ggml\.tokens is missing/);
  broken((m) => m.set("tokenizer.ggml.token_type", [1, 1]), /token_type has 2 entries but there are 3 tokens/);
  broken((m) => m.set("tokenizer.ggml.pre", "klingon"), /tokenizer\.ggml\.pre = "klingon" is not supported/);
  broken((m) => m.set("tokenizer.ggml.bos_token_id", 99), /bos_token_id = 99 is outside the vocabulary/);
  broken((m) => m.set("tokenizer.ggml.merges", ["a z"]), /merges\[0\].*"z"/);
  broken((m) => m.set("tokenizer.ggml.add_bos_token", true), /add_bos_token is set but tokenizer\.ggml\.bos_token_id is missing/);
});

test("a tokenizer without a chat template says so; a broken template is a LoomError", () => {
  const tok = tokenizerFromHfFiles({ tokenizerJson: tiny() });
  assert.throws(() => tok.applyChatTemplate([{ role: "user", content: "hi" }]), /no chat template/);
  const broken = tokenizerFromHfFiles({ tokenizerJson: tiny(), tokenizerConfig: { chat_template: "{% for %}" } });
  assert.throws(() => broken.applyChatTemplate([{ role: "user", content: "hi" }]), LoomError);
});

test("lone surrogates encode as U+FFFD and never crash", () => {
  for (const files of [gpt2Files(), lenmlFiles("llama2")]) {
    const tok = tokenizerFromHfFiles(files);
    for (const text of ["a\ud800b", "\udc00", "x\ud83d", "\ud83d\ude00\ude00", "<s>\ud800</s>"]) {
      assert.deepEqual(tok.encode(text), tok.encode(text.replace(/\p{Surrogate}/gu, "\ufffd")), JSON.stringify(text));
    }
  }
});

test("decode drops ids outside the vocabulary and survives broken byte sequences", () => {
  const gpt2 = tokenizerFromHfFiles(gpt2Files());
  assert.equal(gpt2.decode([15496, -1, 1e9, 1.5, Number.NaN, 995]), gpt2.decode([15496, 995]));
  // Byte-level tokens for bytes E4 B8 (two thirds of 中) then "a": decoded like UTF-8 lossy decoding.
  const bytePieces = [0xe4, 0xb8].map((b) => gpt2.tokenToId(byteLevelChar(b))!);
  const ids = [...bytePieces, gpt2.tokenToId("a")!];
  assert.equal(gpt2.decode(ids), utf8DecodeLossy(Uint8Array.of(0xe4, 0xb8, 0x61)));
  const stream = gpt2.createStreamDecoder();
  assert.equal(stream.push(bytePieces[0]!), "");
  assert.equal(stream.push(bytePieces[1]!), "");
  assert.equal(stream.push(gpt2.tokenToId("a")!) + stream.flush(), utf8DecodeLossy(Uint8Array.of(0xe4, 0xb8, 0x61)));

  const mistral = tokenizerFromHfFiles(lenmlFiles("llama2"));
  const e5 = mistral.tokenToId("<0xE5>")!;
  const x8f = mistral.tokenToId("<0x8F>")!;
  const xab = mistral.tokenToId("<0xAB>")!;
  assert.equal(mistral.decode([e5, x8f, xab]), "叫");
  // An incomplete run becomes one U+FFFD per byte, as the Rust crate's ByteFallback decoder (and its tests) do.
  assert.equal(mistral.decode([e5, x8f]), "\ufffd\ufffd");
  const stream2 = mistral.createStreamDecoder();
  assert.equal(stream2.push(e5) + stream2.push(x8f), "");
  assert.equal(stream2.push(xab), "叫");
  // A dangling lead byte is held back, then flushed as replacement text (never half a character).
  assert.equal(stream2.push(e5), "");
  assert.match(stream2.flush(), /^\ufffd+$/);
});

/** GPT-2's printable stand-in for byte b (the vocabulary's alphabet). */
function byteLevelChar(b: number): string {
  const printable = (x: number) => (x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff);
  if (printable(b)) return String.fromCharCode(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!printable(x)) n++;
  return String.fromCharCode(256 + n);
}
