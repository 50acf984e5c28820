/**
 * GPT-2's original files — vocab.json (encoder.json) and merges.txt (vocab.bpe) — as the
 * tokenizer.json that Hugging Face ships for GPT-2: byte-level BPE with GPT-2's split pattern and
 * <|endoftext|> as the one special token.
 */
import { fail } from "./json.js";

/** merges.txt: one "a b" merge per line, after an optional "#version" header. */
export function parseMergesText(text: string, where: string): string[] {
  const merges: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.length === 0 || (i === 0 && line.startsWith("#version"))) return;
    if (line.indexOf(" ", 1) < 0) fail(`${where}:${i + 1}`, `merge line ${JSON.stringify(line)} has no space between its two tokens`);
    merges.push(line);
  });
  return merges;
}

export interface Gpt2JsonOptions {
  /** Special tokens to register as added tokens when they are in the vocabulary. */
  specialTokens?: readonly string[];
}

/** A tokenizer.json object equal in behaviour to HF's GPT-2 tokenizer.json. */
export function gpt2TokenizerJson(vocab: Record<string, number>, merges: readonly string[], options: Gpt2JsonOptions = {}): Record<string, unknown> {
  const specials = options.specialTokens ?? ["<|endoftext|>"];
  const added = [...new Set(specials)]
    .filter((content) => vocab[content] !== undefined)
    .map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}
