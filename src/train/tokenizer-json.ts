import type { BpeVocab } from "./bpe.js";

/**
 * A standard Hugging Face tokenizer.json for a byte-level BPE vocabulary: BPE model, ByteLevel
 * pre-tokenizer (GPT-2 regex, no prefix space) and decoder, special tokens as added tokens.
 */
export function tokenizerJson(vocab: BpeVocab): object {
  const ordinary: Record<string, number> = {};
  vocab.tokens.forEach((t, id) => {
    if (!vocab.specials.has(t)) ordinary[t] = id;
  });
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...vocab.specials].map(([content, id]) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: ordinary,
      merges: vocab.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** Reads back what tokenizerJson wrote (for resuming and exporting from a checkpoint folder). */
export function vocabFromTokenizerJson(json: {
  added_tokens?: { id: number; content: string }[];
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
}): BpeVocab {
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(json.model.vocab)) tokens[id] = t;
  const specials = new Map<string, number>();
  for (const a of json.added_tokens ?? []) {
    tokens[a.id] = a.content;
    specials.set(a.content, a.id);
  }
  const merges = json.model.merges.map((m) => (typeof m === "string" ? (m.split(" ") as [string, string]) : m));
  return { tokens, merges, specials };
}
