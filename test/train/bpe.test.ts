// The BPE trainer and encoder against an independent reader (@huggingface/tokenizers) and against
// slow, obvious recomputations written here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tokenizer } from "@huggingface/tokenizers";
import { BYTE_TO_CHAR, pretokenize } from "../../src/train/byte-level.js";
import { BpeEncoder } from "../../src/train/bpe.js";
import { trainBpe } from "../../src/train/bpe-trainer.js";
import { tokenizerJson, vocabFromTokenizerJson } from "../../src/train/tokenizer-json.js";
import { mobyDickSample } from "./tiny-run.js";

const EOT = "<|endoftext|>";

test("byte-to-character map: 256 distinct printable characters, printable ASCII unchanged, space is Ġ", () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  for (let b = 0x21; b <= 0x7e; b++) assert.equal(BYTE_TO_CHAR[b], String.fromCharCode(b));
  assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
  assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
});

test("the first merge is the most frequent adjacent pair inside pre-tokens", () => {
  const text = mobyDickSample(20_000);
  const vocab = trainBpe([text], { vocabSize: 257 });
  // count pairs the slow way
  const counts = new Map<string, number>();
  for (const piece of pretokenize(text)) {
    const chars = Array.from(piece);
    for (let i = 0; i + 1 < chars.length; i++) {
      const k = `${chars[i]} ${chars[i + 1]}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  const best = Math.max(...counts.values());
  assert.equal(vocab.merges.length, 1);
  assert.equal(counts.get(vocab.merges[0].join(" ")), best);
});

test("ids: 256 bytes, then merged tokens, then the special token last", () => {
  const vocab = trainBpe([mobyDickSample(20_000)], { vocabSize: 400, specialTokens: [EOT] });
  assert.equal(vocab.tokens.length, 400);
  assert.deepEqual(vocab.tokens.slice(0, 256), BYTE_TO_CHAR);
  assert.equal(vocab.specials.get(EOT), 399);
  assert.equal(vocab.tokens[399], EOT);
  // every merge's parts exist before the merge result
  const id = new Map(vocab.tokens.map((t, i) => [t, i]));
  for (const [a, b] of vocab.merges) assert.ok(id.get(a)! < id.get(a + b)! && id.get(b)! < id.get(a + b)!);
});

test("@huggingface/tokenizers loads the written tokenizer.json and agrees id for id", () => {
  const text = mobyDickSample(60_000);
  const vocab = trainBpe([text.slice(0, 40_000)], { vocabSize: 600, specialTokens: [EOT] });
  const json = JSON.parse(JSON.stringify(tokenizerJson(vocab)));
  const hf = new Tokenizer(json, {});
  const ours = new BpeEncoder(vocab);
  const samples = [
    text.slice(40_000), // held-out text
    `first${EOT}second ${EOT}`,
    "  leading spaces, trailing  \n\n\ttabs\r\nCRLF",
    "Ünïcödé — “quotes” 😀 日本語 don't we'll I'd",
    "numbers 1234567 3.14 $5,000",
    "",
  ];
  for (const s of samples) {
    const ids = ours.encode(s);
    assert.deepEqual(hf.encode(s, { add_special_tokens: false }).ids, ids, JSON.stringify(s.slice(0, 40)));
    assert.equal(ours.decode(ids), s);
    if (ids.length > 0) assert.equal(hf.decode(ids, { skip_special_tokens: false }), s);
  }
});

test("tokenizer.json round-trips through vocabFromTokenizerJson", () => {
  const vocab = trainBpe([mobyDickSample(20_000)], { vocabSize: 300, specialTokens: [EOT] });
  const back = vocabFromTokenizerJson(JSON.parse(JSON.stringify(tokenizerJson(vocab))));
  assert.deepEqual(back.tokens, vocab.tokens);
  assert.deepEqual(back.merges, vocab.merges);
  assert.deepEqual([...back.specials], [...vocab.specials]);
});

test("the trainer is deterministic and rejects impossible sizes", () => {
  const text = mobyDickSample(10_000);
  assert.deepEqual(trainBpe([text], { vocabSize: 300 }).merges, trainBpe([text], { vocabSize: 300 }).merges);
  assert.throws(() => trainBpe([text], { vocabSize: 100 }), /at least 256/);
  // a tiny text runs out of pairs seen twice before reaching the target size
  assert.ok(trainBpe(["abc abd"], { vocabSize: 1000 }).tokens.length < 1000);
});
