/**
 * The `tokenizer.ggml.*` keys of a converted file, from the folder's tokenizer files (the
 * tokenizers module does the mapping), fitted to the model the way llama.cpp's converter does:
 * the vocabulary is padded with "[PAD{id}]" tokens of type UNUSED up to the embedding's row count,
 * and token ids config.json names fill in when the tokenizer files name none.
 */
import { LoomError } from "../errors.js";
import { ggufEntries, ggufMetadataFromHf, readHfTokenizerFiles } from "../tokenizers/index.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import type { MetaValue } from "../weights/source.js";

const UNUSED_TOKEN_TYPE = 5;

export interface TokenizerFit {
  vocabSize: number;
  bosTokenId?: number;
  eosTokenId?: number;
  /** llama.cpp's converter copies tokenizer_config.json's add_prefix_space into `llama` files. */
  copyAddPrefixSpace: boolean;
}

export function tokenizerMetadata(folder: string, fit: TokenizerFit): GGUFMetaEntry[] {
  const files = readHfTokenizerFiles(folder);
  const meta = ggufMetadataFromHf(files);
  const tokens = meta.get("tokenizer.ggml.tokens");
  if (!Array.isArray(tokens)) throw new LoomError(`${folder}: the tokenizer has no vocabulary`);
  if (tokens.length > fit.vocabSize) {
    throw new LoomError(`${files.origin ?? folder}: the tokenizer has ${tokens.length} tokens but the model's vocabulary has ${fit.vocabSize} rows`);
  }
  const pad = (key: string, filler: (id: number) => MetaValue) => {
    const values = meta.get(key);
    if (!Array.isArray(values)) return;
    for (let id = values.length; id < fit.vocabSize; id++) values.push(filler(id));
  };
  pad("tokenizer.ggml.tokens", (id) => `[PAD${id}]`);
  pad("tokenizer.ggml.token_type", () => UNUSED_TOKEN_TYPE);
  pad("tokenizer.ggml.scores", () => -1000); // the score llama.cpp's converter gives padding pieces
  if (!meta.has("tokenizer.ggml.bos_token_id") && fit.bosTokenId !== undefined) meta.set("tokenizer.ggml.bos_token_id", fit.bosTokenId);
  if (!meta.has("tokenizer.ggml.eos_token_id") && fit.eosTokenId !== undefined) meta.set("tokenizer.ggml.eos_token_id", fit.eosTokenId);
  const addPrefixSpace = (files.tokenizerConfig as { add_prefix_space?: unknown } | undefined)?.add_prefix_space;
  if (fit.copyAddPrefixSpace && typeof addPrefixSpace === "boolean") meta.set("tokenizer.ggml.add_space_prefix", addPrefixSpace);
  return ggufEntries(meta);
}
