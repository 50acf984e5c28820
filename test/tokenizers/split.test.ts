/** The hand-written GPT-2 scanner against the regex it replaces, and the Oniguruma translation. */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as hfTokenizers from "@huggingface/tokenizers";
import { LoomError } from "../../src/errors.js";
import { GPT2_PATTERN, splitGpt2 } from "../../src/tokenizers/gpt2-split.js";
import { LLAMA3_PATTERN, QWEN2_PATTERN, splitLlama3 } from "../../src/tokenizers/llama3-split.js";
import { compileOnigurumaPattern, translateOnigurumaPattern } from "../../src/tokenizers/regex.js";
import { HARD_CORPUS, randomTexts, rng } from "./corpus.js";

/** The slow, obvious twin: GPT-2's pattern as a regex, with \s as White_Space (as Oniguruma reads it). */
const TWIN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

function scannerPieces(text: string, from = 0, to = text.length): string[] {
  const pieces: string[] = [];
  splitGpt2(text, from, to, (t, a, b) => pieces.push(t.slice(a, b)));
  return pieces;
}

/** Random strings over characters of every class the pattern distinguishes. */
function nastyStrings(seed: number, count: number): string[] {
  const alphabet = [" ", " ", "\t", "\n", "\r", "\u00a0", "\u0085", "\ufeff", "\u2028", "\u3000", "'", "'", "s", "t", "r", "e", "v", "m", "l", "d", "S", "L", "a", "Z", "é", "ß", "中", "𝐀", "1", "9", "٣", "½", "𝟘", ".", ",", "!", "-", "😀", "\u200d", "\u0301", "\ud800", "\udc00", "ſ"];
  const next = rng(seed);
  return Array.from({ length: count }, () => {
    let s = "";
    const n = Math.floor(next() * 30);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    return s;
  });
}

test("the GPT-2 scanner splits exactly like the pattern", () => {
  for (const text of [...HARD_CORPUS, ...randomTexts(5, 300, 30), ...nastyStrings(11, 3000)]) {
    assert.deepEqual(scannerPieces(text), text.match(TWIN) ?? [], JSON.stringify(text));
  }
});

test("the GPT-2 scanner treats a sub-range as a whole input", () => {
  const next = rng(3);
  for (const text of nastyStrings(17, 500)) {
    const from = Math.floor(next() * (text.length + 1));
    const to = from + Math.floor(next() * (text.length - from + 1));
    assert.deepEqual(scannerPieces(text, from, to), text.slice(from, to).match(TWIN) ?? [], JSON.stringify([text, from, to]));
  }
});

/** The HF port's Split pre-tokenizer (its published types do not resolve under NodeNext). */
const { SplitPreTokenizer } = hfTokenizers as unknown as {
  SplitPreTokenizer: new (config: object) => { pre_tokenize_text(text: string): string[] };
};

const REAL_PATTERNS = {
  llama3: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  deepseek: "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
  deepseekCjk: "[一-龥぀-ゟ゠-ヿ]+",
};

test("the Llama-3 / Qwen scanner splits exactly like the patterns", () => {
  const texts = [...HARD_CORPUS, ...randomTexts(6, 300, 30), ...nastyStrings(12, 3000)];
  for (const [pattern, maxDigits] of [[LLAMA3_PATTERN, 3], [QWEN2_PATTERN, 1]] as const) {
    const twin = compileOnigurumaPattern(pattern);
    for (const text of texts) {
      const pieces: string[] = [];
      splitLlama3(text, 0, text.length, maxDigits, (t, a, b) => pieces.push(t.slice(a, b)));
      assert.deepEqual(pieces, text.match(twin) ?? [], JSON.stringify(text));
    }
  }
});

test("real Split patterns match like HF's own Oniguruma translation", () => {
  // HF's port folds case for ASCII only; Oniguruma also folds ſ to s (checked separately below).
  const texts = [...HARD_CORPUS, ...randomTexts(8, 200, 30), ...nastyStrings(13, 2000)].filter((t) => !t.includes("ſ"));
  for (const [name, pattern] of Object.entries(REAL_PATTERNS)) {
    const hf = new SplitPreTokenizer({ type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false });
    const ours = compileOnigurumaPattern(pattern);
    for (const text of texts) {
      const expected = hf.pre_tokenize_text(text).filter((piece: string) => piece.length > 0);
      const pieces: string[] = [];
      let last = 0;
      for (const m of text.matchAll(ours)) {
        if (m.index > last) pieces.push(text.slice(last, m.index));
        pieces.push(m[0]);
        last = m.index + m[0].length;
      }
      if (last < text.length) pieces.push(text.slice(last));
      assert.deepEqual(pieces, expected, `${name}: ${JSON.stringify(text)}`);
    }
  }
});

test("(?i:…) folds case like Unicode simple case folding", () => {
  const contraction = new RegExp(`^${translateOnigurumaPattern("(?i:'s)")}$`, "u");
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const ch = String.fromCharCode(c);
    // Characters whose case mapping reaches "s"/"S": s, S and ſ (U+017F, whose uppercase is S).
    const foldsToS = ch === "s" || ch === "S" || ch.toUpperCase() === "S";
    assert.equal(contraction.test(`'${ch}`), foldsToS, `U+${c.toString(16)}`);
  }
  assert.equal(translateOnigurumaPattern("[\\-a]"), "[\\-a]");
  assert.equal(GPT2_PATTERN.length > 0, true);
});

test("regex constructs with no JS equivalent are refused with a LoomError", () => {
  for (const bad of ["a++", "(?>ab)", "\\G", "[[:alpha:]]", "[a&&b]", "(?m:a)", "\\p{NotAProperty}", "(unclosed"]) {
    assert.throws(() => compileOnigurumaPattern(bad), LoomError, bad);
  }
});
