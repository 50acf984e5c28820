/**
 * Pipeline pieces the real files above do not use, on the real vocabularies: each variant of
 * tokenizer.json is checked against HF's port where the port follows the Rust crate, and split
 * behaviours the port lacks against a slow twin of the Rust folds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitBy, type SplitBehavior } from "../../src/tokenizers/pre-tokenizers.js";
import { corpus, gpt2Files, hfTokenizer, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";
import { rng } from "./corpus.js";

type Json = Record<string, unknown>;

function variant(base: Json, changes: Json): Json {
  return { ...base, ...changes };
}

/** Texts without the characters where HF's port knowingly departs from the Rust crate. */
function portSafe(text: string): boolean {
  // JS's \s/trim() differ from White_Space on U+0085/U+FEFF; the port's Digits is ASCII-only;
  // JS lowercases a final Σ differently.
  return !/[\u0085\ufeffΣ٣¾𝟘]/u.test(text);
}

function compare(name: string, tokenizerJson: Json, config: Json = {}, texts = corpus(77, 120).filter(portSafe)): void {
  const files = { tokenizerJson, tokenizerConfig: config, origin: name };
  const ours = tokenizerFromHfFiles(files);
  const hf = hfTokenizer(files);
  for (const text of texts) {
    for (const add of [true, false]) {
      const expected = hf.encode(text, { add_special_tokens: add }).ids;
      assert.deepEqual(ours.encode(text, { addSpecialTokens: add }), expected, `${name}: ${JSON.stringify(text)} add=${add}`);
    }
  }
}

const mistral = lenmlFiles("llama2").tokenizerJson as Json;
const gpt2 = gpt2Files().tokenizerJson as Json;

test("normalizers: NFKC, NFD, Lowercase, Strip, StripAccents, Replace (regex), Prepend, Sequence", () => {
  compare("nfkc-lower", variant(mistral, {
    normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }, { type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
  }));
  compare("nfd-strip-accents", variant(mistral, {
    normalizer: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }, { type: "Strip", strip_left: true, strip_right: true }, { type: "Replace", pattern: { Regex: "\\s+" }, content: "▁" }] },
  }));
  compare("nfkd", variant(gpt2, { normalizer: { type: "NFKD" } }));
});

test("pre-tokenizers: ByteLevel with prefix space, Digits, Whitespace, WhitespaceSplit, Punctuation, Bert, Split(invert)", () => {
  compare("bytelevel-prefix", variant(gpt2, { pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, use_regex: true } }));
  // HF's port splits digits with ASCII \d; the Rust crate (and Loom) with Unicode's Numeric property.
  const asciiDigitsOnly = corpus(77, 120).filter((t) => portSafe(t) && !/[^\P{N}0-9]/u.test(t));
  compare("smollm-style", variant(gpt2, { pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, { type: "ByteLevel", add_prefix_space: false, use_regex: true }] } }), {}, asciiDigitsOnly);
  compare("digits-runs", variant(gpt2, { pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: false }, { type: "ByteLevel", add_prefix_space: false, use_regex: true }] } }), {}, asciiDigitsOnly);
  const words = (pre: Json) => variant(mistral, { normalizer: null, pre_tokenizer: pre });
  // HF's port matches Whitespace's \w+|[^\w\s]+ without the u flag (ASCII \w); Rust's \w is Unicode.
  compare("whitespace", words({ type: "Whitespace" }), {}, corpus(77, 120).filter((t) => /^[\x00-\x7f]*$/.test(t)));
  compare("whitespace-split", words({ type: "WhitespaceSplit" }));
  // HF's port always keeps punctuation runs together, i.e. behaves as "Contiguous" whatever the config says.
  compare("punctuation", words({ type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Punctuation", behavior: "Contiguous" }] }));
  compare("bert", words({ type: "BertPreTokenizer" }));
  compare("split-invert", words({ type: "Split", pattern: { Regex: "\\p{L}+|\\p{N}+" }, behavior: "Removed", invert: true }));
  // (With a {"String"} pattern HF's port keeps "Removed" delimiters: it splits on a capturing group.)
  compare("split-removed", words({ type: "Split", pattern: { Regex: " " }, behavior: "Removed", invert: false }));
});

test("Metaspace pre-tokenizer and decoder", () => {
  const files = {
    tokenizerJson: variant(mistral, {
      normalizer: null,
      pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: false },
      decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: false },
    }),
  };
  // The port splits no Metaspace pieces and strips one leading space on decode; the Rust crate's
  // decoder drops every "▁" of the first token, so texts starting with a space are left out.
  const texts = corpus(78, 120).filter((t) => portSafe(t) && !/^\s/.test(t) && !t.includes("▁"));
  compare("metaspace", files.tokenizerJson, {}, texts);
  const ours = tokenizerFromHfFiles(files);
  const hf = hfTokenizer(files);
  for (const text of texts) {
    const ids = ours.encode(text, { addSpecialTokens: false });
    if (ids.length > 0) assert.equal(ours.decode(ids), hf.decode(ids, { clean_up_tokenization_spaces: false }), JSON.stringify(text));
  }
});

test("post-processors: templates with EOS, Roberta and Bert processing", () => {
  const eos = { single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }], pair: [], special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] }, "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } } };
  compare("template-eos", variant(mistral, { post_processor: { type: "TemplateProcessing", ...eos } }));
  // (HF's port looks the ids up by token string, so the tokens must exist in the vocabulary.)
  compare("roberta", variant(gpt2, { post_processor: { type: "RobertaProcessing", sep: ["<|endoftext|>", 50256], cls: ["<|endoftext|>", 50256], trim_offsets: true, add_prefix_space: false } }));
  compare("bert", variant(mistral, { post_processor: { type: "BertProcessing", sep: ["</s>", 2], cls: ["<s>", 1] } }));
});

test("added tokens: lstrip and rstrip swallow the whitespace around them", () => {
  const added = [
    ...(gpt2.added_tokens as Json[]),
    { id: 50257, content: "<mask>", special: true, lstrip: true, rstrip: false, normalized: false, single_word: false },
    { id: 50258, content: "[R]", special: false, lstrip: false, rstrip: true, normalized: false, single_word: false },
    { id: 50259, content: "<both>", special: true, lstrip: true, rstrip: true, normalized: false, single_word: false },
  ];
  const texts = ["a <mask> b", "a   <mask>   b", "<mask>x", "x [R]   y", "x [R]\n\ny", "  <both>  z ", "<mask><mask> [R] <both>", ...corpus(5, 40).filter(portSafe).map((t) => t.replace(/ /g, " <mask> "))];
  compare("lstrip-rstrip", variant(gpt2, { added_tokens: added }), {}, texts);
});

test("added tokens: single_word only matches between non-word characters", () => {
  const added = [...(gpt2.added_tokens as Json[]), { id: 50257, content: "cat", special: false, lstrip: false, rstrip: false, normalized: false, single_word: true }];
  const ours = tokenizerFromHfFiles({ tokenizerJson: variant(gpt2, { added_tokens: added }) });
  const plain = tokenizerFromHfFiles({ tokenizerJson: gpt2 });
  // The slow twin: the token stands alone exactly where a word-bounded regex finds it.
  const alone = /(?<![\p{Alphabetic}\p{N}])cat(?![\p{Alphabetic}\p{N}])/u;
  for (const text of ["cat", "a cat.", "concat", "cats", "(cat)", "cat9", "9cat", "über cat über", "catcat cat"]) {
    const ids = ours.encode(text);
    const first = alone.exec(text);
    if (!first) assert.deepEqual(ids, plain.encode(text), text);
    else {
      const before = plain.encode(text.slice(0, first.index));
      assert.deepEqual(ids.slice(0, before.length + 1), [...before, 50257], text);
    }
  }
});

/** Rust's split behaviours as folds over the full list of (range, isMatch), for comparison. */
function slowSplit(text: string, regex: RegExp, behavior: SplitBehavior, invert: boolean): string[] {
  const splits: [number, number, boolean][] = [];
  let last = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0].length === 0) continue;
    if (m.index > last) splits.push([last, m.index, false]);
    splits.push([m.index, m.index + m[0].length, true]);
    last = m.index + m[0].length;
  }
  if (last < text.length) splits.push([last, text.length, false]);
  const flagged = splits.map(([s, e, m]): [number, number, boolean] => [s, e, m !== invert]);
  let out: [number, number][] = [];
  let previous = false;
  switch (behavior) {
    case "Removed":
      out = flagged.filter(([, , m]) => !m).map(([s, e]) => [s, e]);
      break;
    case "Isolated":
      out = flagged.map(([s, e]) => [s, e]);
      break;
    case "MergedWithPrevious":
      for (const [s, e, m] of flagged) {
        if (m && !previous && out.length > 0) out[out.length - 1]![1] = e;
        else out.push([s, e]);
        previous = m;
      }
      break;
    case "MergedWithNext":
      for (const [s, e, m] of [...flagged].reverse()) {
        if (m && !previous && out.length > 0) out[out.length - 1]![0] = s;
        else out.push([s, e]);
        previous = m;
      }
      out.reverse();
      break;
    case "Contiguous":
      for (const [s, e, m] of flagged) {
        if (m === previous && out.length > 0) out[out.length - 1]![1] = e;
        else out.push([s, e]);
        previous = m;
      }
      break;
  }
  return out.map(([s, e]) => text.slice(s, e)).filter((piece) => piece.length > 0);
}

test("split behaviours equal the Rust crate's folds", () => {
  const behaviors: SplitBehavior[] = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"];
  const next = rng(31);
  const alphabet = ["a", "b", "-", "-", " ", "x"];
  for (let i = 0; i < 400; i++) {
    let text = "";
    const n = Math.floor(next() * 16);
    for (let k = 0; k < n; k++) text += alphabet[Math.floor(next() * alphabet.length)];
    for (const source of ["-", "-+", "[ab]", " "]) {
      const regex = new RegExp(source, "g");
      for (const behavior of behaviors) {
        for (const invert of [false, true]) {
          const pieces: string[] = [];
          const find = (t: string, onMatch: (s: number, e: number) => void) => {
            for (const m of t.matchAll(regex)) onMatch(m.index, m.index + m[0].length);
          };
          splitBy(text, find, behavior, invert, (t, s, e) => pieces.push(t.slice(s, e)));
          assert.deepEqual(pieces, slowSplit(text, regex, behavior, invert), `${JSON.stringify(text)} /${source}/ ${behavior} invert=${invert}`);
        }
      }
    }
  }
});
