/**
 * Tokenizers from GGUF metadata (`tokenizer.ggml.*`), for the two vocabulary models real files use:
 *   - "gpt2": byte-level BPE with a merge list; the split regexes come from `tokenizer.ggml.pre`;
 *   - "llama": SentencePiece pieces with scores (merged by score, as llama.cpp does), byte pieces
 *     for unknown characters, a "▁" space marker and an optional leading one.
 * Tokens of type CONTROL are special added tokens; USER_DEFINED ones are plain added tokens.
 * A file with only `tokenizer.huggingface.json` (a whole tokenizer.json) is read as that.
 */
import { LoomError } from "../errors.js";
import type { MetaValue } from "../weights/source.js";
import type { AddedToken } from "./added-tokens.js";
import { BpeModel, type WordModel } from "./bpe.js";
import { buildDecoder } from "./decoders.js";
import { DEFAULT_GGUF_PRE, GGUF_PRE_TOKENIZERS, ggufPreTokenizer } from "./gguf-pre.js";
import { tokenizerFromHfFiles } from "./hf.js";
import { buildNormalizer } from "./normalizers.js";
import { wrapWith } from "./post-processors.js";
import { buildPreTokenizer } from "./pre-tokenizers.js";
import { SpmModel, TokenType } from "./spm.js";
import { LoomTokenizer, type TokenizerSettings } from "./tokenizer.js";

type Metadata = ReadonlyMap<string, MetaValue>;

const WHERE = "GGUF metadata";

function optional(meta: Metadata, key: string): MetaValue | undefined {
  return meta.get(key);
}

function str(meta: Metadata, key: string): string | undefined {
  const value = optional(meta, key);
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new LoomError(`${WHERE}: ${key} must be a string, got ${typeof value}`);
  return value;
}

function int(meta: Metadata, key: string): number | undefined {
  const value = optional(meta, key);
  if (value === undefined) return undefined;
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n)) throw new LoomError(`${WHERE}: ${key} must be an integer`);
  return n;
}

function bool(meta: Metadata, key: string, fallback: boolean): boolean {
  const value = optional(meta, key);
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new LoomError(`${WHERE}: ${key} must be a boolean`);
  return value;
}

function array(meta: Metadata, key: string): MetaValue[] | undefined {
  const value = optional(meta, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new LoomError(`${WHERE}: ${key} must be an array`);
  return value;
}

function strings(meta: Metadata, key: string): string[] | undefined {
  const values = array(meta, key);
  if (values === undefined) return undefined;
  values.forEach((v, i) => {
    if (typeof v !== "string") throw new LoomError(`${WHERE}: ${key}[${i}] must be a string`);
  });
  return values as string[];
}

function numbers(meta: Metadata, key: string, length: number): number[] | undefined {
  const values = array(meta, key);
  if (values === undefined) return undefined;
  if (values.length !== length) throw new LoomError(`${WHERE}: ${key} has ${values.length} entries but there are ${length} tokens`);
  return values.map((v, i) => {
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number") throw new LoomError(`${WHERE}: ${key}[${i}] must be a number`);
    return n;
  });
}

function tokenAt(tokens: readonly string[], id: number | undefined, key: string): string | undefined {
  if (id === undefined) return undefined;
  const token = tokens[id];
  if (token === undefined) throw new LoomError(`${WHERE}: ${key} = ${id} is outside the vocabulary (${tokens.length} tokens)`);
  return token;
}

export function tokenizerFromGGUFMetadata(meta: Metadata): LoomTokenizer {
  const kind = str(meta, "tokenizer.ggml.model");
  if (kind === undefined) {
    // Some files embed the whole tokenizer.json instead.
    const embedded = str(meta, "tokenizer.huggingface.json");
    if (embedded === undefined) throw new LoomError(`${WHERE}: no tokenizer.ggml.model key (this GGUF file has no tokenizer)`);
    let tokenizerJson: unknown;
    try {
      tokenizerJson = JSON.parse(embedded);
    } catch (error) {
      throw new LoomError(`${WHERE}: tokenizer.huggingface.json is not valid JSON: ${(error as Error).message}`);
    }
    return tokenizerFromHfFiles({ tokenizerJson, chatTemplate: str(meta, "tokenizer.chat_template"), origin: `${WHERE} tokenizer.huggingface.json` });
  }
  const tokens = strings(meta, "tokenizer.ggml.tokens");
  if (tokens === undefined) throw new LoomError(`${WHERE}: tokenizer.ggml.tokens is missing`);
  const types = numbers(meta, "tokenizer.ggml.token_type", tokens.length) ?? tokens.map(() => TokenType.Normal);

  const bosId = int(meta, "tokenizer.ggml.bos_token_id");
  const eosId = int(meta, "tokenizer.ggml.eos_token_id");
  const unkId = int(meta, "tokenizer.ggml.unknown_token_id");
  const padId = int(meta, "tokenizer.ggml.padding_token_id");
  const settings: TokenizerSettings = {
    bosToken: tokenAt(tokens, bosId, "tokenizer.ggml.bos_token_id"),
    eosToken: tokenAt(tokens, eosId, "tokenizer.ggml.eos_token_id"),
    unkToken: tokenAt(tokens, unkId, "tokenizer.ggml.unknown_token_id"),
    padToken: tokenAt(tokens, padId, "tokenizer.ggml.padding_token_id"),
    chatTemplate: str(meta, "tokenizer.chat_template"),
    cleanUpTokenizationSpaces: false,
    templateTokens: {},
  };
  for (const [name, value] of [["bos_token", settings.bosToken], ["eos_token", settings.eosToken], ["unk_token", settings.unkToken], ["pad_token", settings.padToken]] as const) {
    if (value !== undefined) settings.templateTokens[name] = value;
  }

  const addedTokens: AddedToken[] = [];
  tokens.forEach((content, id) => {
    const type = types[id];
    if (type !== TokenType.Control && type !== TokenType.UserDefined) return;
    addedTokens.push({ id, content, special: type === TokenType.Control, lstrip: false, rstrip: false, normalized: false, singleWord: false });
  });
  // The model's own vocabulary: everything but control tokens.
  const modelVocab = new Map<string, number>();
  tokens.forEach((token, id) => {
    if (types[id] !== TokenType.Control && !modelVocab.has(token)) modelVocab.set(token, id);
  });

  const wrap = (addBos: boolean, addEos: boolean) => {
    if (addBos && bosId === undefined) throw new LoomError(`${WHERE}: add_bos_token is set but tokenizer.ggml.bos_token_id is missing`);
    if (addEos && eosId === undefined) throw new LoomError(`${WHERE}: add_eos_token is set but tokenizer.ggml.eos_token_id is missing`);
    return wrapWith(addBos ? [bosId!] : [], addEos ? [eosId!] : []);
  };

  if (kind === "gpt2") {
    const pre = str(meta, "tokenizer.ggml.pre") ?? DEFAULT_GGUF_PRE;
    const spec = ggufPreTokenizer(pre);
    if (!spec) throw new LoomError(`${WHERE}: tokenizer.ggml.pre = ${JSON.stringify(pre)} is not supported (known: ${Object.keys(GGUF_PRE_TOKENIZERS).join(", ")})`);
    const merges = strings(meta, "tokenizer.ggml.merges") ?? []; // "a b" strings, split as BpeModel reads them
    const model: WordModel = new BpeModel({ vocab: modelVocab, merges, ignoreMerges: spec.ignoreMerges, where: WHERE });
    return new LoomTokenizer({
      model,
      modelVocab,
      addedTokens,
      normalizer: buildNormalizer(spec.normalizer, `${WHERE} (pre ${pre})`),
      preTokenizer: buildPreTokenizer(spec.preTokenizer, `${WHERE} (pre ${pre})`),
      postProcessor: wrap(bool(meta, "tokenizer.ggml.add_bos_token", false), bool(meta, "tokenizer.ggml.add_eos_token", false)),
      decoder: buildDecoder({ type: "ByteLevel" }, WHERE),
      settings,
    });
  }

  if (kind === "llama") {
    const scores = numbers(meta, "tokenizer.ggml.scores", tokens.length) ?? tokens.map(() => 0);
    const addSpacePrefix = bool(meta, "tokenizer.ggml.add_space_prefix", true);
    const model = new SpmModel({ tokens, scores, types, unkId });
    const escapeSpaces = { type: "Replace", pattern: { String: " " }, content: "\u2581" };
    const normalizer = addSpacePrefix ? { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, escapeSpaces] } : escapeSpaces;
    const decoders: Record<string, unknown>[] = [
      { type: "Replace", pattern: { String: "\u2581" }, content: " " },
      { type: "ByteFallback" },
      { type: "Fuse" },
    ];
    if (addSpacePrefix) decoders.push({ type: "Strip", content: " ", start: 1, stop: 0 });
    return new LoomTokenizer({
      model,
      modelVocab,
      addedTokens,
      normalizer: buildNormalizer(normalizer, WHERE),
      preTokenizer: { preTokenize: undefined, byteLevelPieces: false },
      postProcessor: wrap(bool(meta, "tokenizer.ggml.add_bos_token", true), bool(meta, "tokenizer.ggml.add_eos_token", false)),
      decoder: buildDecoder({ type: "Sequence", decoders }, WHERE),
      settings,
    });
  }

  throw new LoomError(`${WHERE}: tokenizer.ggml.model = ${JSON.stringify(kind)} is not supported (Loom reads "gpt2" and "llama")`);
}
