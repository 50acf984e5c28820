/**
 * Builds a tokenizer from Hugging Face files: tokenizer.json (the pipeline), tokenizer_config.json
 * and special_tokens_map.json (named special tokens, chat template, transformers-level options).
 */
import type { AddedToken } from "./added-tokens.js";
import { BpeModel, mergeLeft, mergeRight, type MergeEntry } from "./bpe.js";
import { buildDecoder } from "./decoders.js";
import { asArray, asObject, fail, getBool, getInt, getOptString, getString, type JsonObject } from "./json.js";
import { buildNormalizer } from "./normalizers.js";
import { buildPostProcessor, wrapWith, type PostProcessor } from "./post-processors.js";
import { buildPreTokenizer } from "./pre-tokenizers.js";
import { LoomTokenizer, type TokenizerSettings } from "./tokenizer.js";

export interface HfTokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizerJson: unknown;
  /** Parsed tokenizer_config.json, if any. */
  tokenizerConfig?: unknown;
  /** Parsed special_tokens_map.json, if any. */
  specialTokensMap?: unknown;
  /** A chat template from a separate file (chat_template.jinja), if any. */
  chatTemplate?: string;
  /** Names the source in error messages, e.g. the file path. */
  origin?: string;
}

function parseVocab(value: unknown, where: string): Map<string, number> {
  const vocab = new Map<string, number>();
  const obj = asObject(value, where);
  for (const token of Object.keys(obj)) {
    const id = obj[token];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) fail(`${where}[${JSON.stringify(token)}]`, `expected a non-negative integer id, got ${JSON.stringify(id)}`);
    vocab.set(token, id);
  }
  return vocab;
}

/** Merges come as "a b" strings (split at the first space) or as [a, b] pairs. */
export function parseMerges(value: unknown, where: string): [string, string][] {
  return asArray(value, where).map((merge, i): [string, string] => [mergeLeft(merge, `${where}[${i}]`), mergeRight(merge as MergeEntry)]);
}

function buildModel(config: unknown, where: string): { model: BpeModel; vocab: Map<string, number> } {
  const obj = asObject(config, where);
  const type = obj.type ?? (obj.merges !== undefined ? "BPE" : undefined);
  if (type !== "BPE") fail(`${where}.type`, `model type ${JSON.stringify(type)} is not supported (Loom supports BPE)`);
  const vocab = parseVocab(obj.vocab, `${where}.vocab`);
  const merges = asArray(obj.merges ?? [], `${where}.merges`) as MergeEntry[]; // each checked as BpeModel reads it
  const model = new BpeModel({
    vocab,
    vocabObject: obj.vocab as Record<string, unknown>,
    merges,
    unkToken: getOptString(obj, "unk_token", where),
    fuseUnk: getBool(obj, "fuse_unk", where, false),
    byteFallback: getBool(obj, "byte_fallback", where, false),
    continuingSubwordPrefix: getOptString(obj, "continuing_subword_prefix", where) || undefined,
    endOfWordSuffix: getOptString(obj, "end_of_word_suffix", where) || undefined,
    ignoreMerges: getBool(obj, "ignore_merges", where, false),
    where,
  });
  return { model, vocab };
}

export function parseAddedTokens(value: unknown, where: string): AddedToken[] {
  if (value === undefined || value === null) return [];
  return asArray(value, where).map((entry, i) => {
    const at = `${where}[${i}]`;
    const obj = asObject(entry, at);
    const special = getBool(obj, "special", at, false);
    return {
      id: getInt(obj, "id", at),
      content: getString(obj, "content", at),
      special,
      lstrip: getBool(obj, "lstrip", at, false),
      rstrip: getBool(obj, "rstrip", at, false),
      normalized: getBool(obj, "normalized", at, !special),
      singleWord: getBool(obj, "single_word", at, false),
    };
  });
}

/** A special token in tokenizer_config.json: a string, {content: …} (an AddedToken dict) or null. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as JsonObject).content === "string") return (value as JsonObject).content as string;
  return undefined;
}

const NAMED_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;

/** transformers classes whose fast tokenizers rebuild the post-processor from add_bos/eos_token. */
const BOS_EOS_CLASSES = /^(Llama|CodeLlama|Gemma)Tokenizer(Fast)?$/;

function chatTemplateOf(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  // A list of named templates: use "default".
  const named = asArray(value, where).map((entry, i) => asObject(entry, `${where}[${i}]`));
  const chosen = named.find((t) => t.name === "default") ?? named[0];
  return chosen && typeof chosen.template === "string" ? chosen.template : undefined;
}

/** Named tokens from special_tokens_map.json override tokenizer_config.json, as in transformers. */
function collectSettings(config: JsonObject, specialMap: JsonObject, chatTemplate: string | undefined, where: string): TokenizerSettings {
  const templateTokens: Record<string, unknown> = {};
  for (const name of NAMED_TOKENS) {
    const value = tokenString(specialMap[name]) ?? tokenString(config[name]);
    if (value !== undefined) templateTokens[name] = value;
  }
  const additional = specialMap.additional_special_tokens ?? config.additional_special_tokens;
  if (Array.isArray(additional)) templateTokens.additional_special_tokens = additional.map(tokenString).filter((t) => t !== undefined);
  return {
    bosToken: templateTokens.bos_token as string | undefined,
    eosToken: templateTokens.eos_token as string | undefined,
    padToken: templateTokens.pad_token as string | undefined,
    unkToken: templateTokens.unk_token as string | undefined,
    chatTemplate: chatTemplate ?? chatTemplateOf(config.chat_template, `${where}.chat_template`),
    cleanUpTokenizationSpaces: getBool(config, "clean_up_tokenization_spaces", where, false),
    splitSpecialTokens: getBool(config, "split_special_tokens", where, false),
    templateTokens,
  };
}

/**
 * Llama/Gemma fast tokenizers in transformers replace tokenizer.json's post-processor with
 * `[bos] $A [eos]` according to add_bos_token (default true) and add_eos_token (default false).
 * This is why DeepSeek-V3 (LlamaTokenizerFast, ByteLevel post-processor) gets a BOS in HF.
 */
function transformersPostProcessor(config: JsonObject, settings: TokenizerSettings, tokenToId: (t: string) => number | undefined, where: string): PostProcessor | undefined {
  const cls = config.tokenizer_class;
  if (typeof cls !== "string" || !BOS_EOS_CLASSES.test(cls)) return undefined;
  const addBos = getBool(config, "add_bos_token", where, true);
  const addEos = getBool(config, "add_eos_token", where, false);
  const idFor = (token: string | undefined, name: string): number[] => {
    if (token === undefined) fail(where, `add_${name}_token is set but there is no ${name}_token`);
    const id = tokenToId(token);
    if (id === undefined) fail(where, `${name}_token ${JSON.stringify(token)} is not in the vocabulary`);
    return [id];
  };
  return wrapWith(addBos ? idFor(settings.bosToken, "bos") : [], addEos ? idFor(settings.eosToken, "eos") : []);
}

/** Fallback names when there is no tokenizer_config.json. */
function guessSettings(added: readonly AddedToken[], settings: TokenizerSettings): void {
  const specials = new Set(added.filter((t) => t.special).map((t) => t.content));
  const pick = (...names: string[]) => names.find((n) => specials.has(n));
  settings.bosToken ??= pick("<s>", "<bos>", "<|begin_of_text|>", "<|endoftext|>");
  settings.eosToken ??= pick("</s>", "<eos>", "<|end_of_text|>", "<|endoftext|>");
  settings.unkToken ??= pick("<unk>");
  for (const [key, value] of [["bos_token", settings.bosToken], ["eos_token", settings.eosToken], ["unk_token", settings.unkToken]] as const) {
    if (value !== undefined && settings.templateTokens[key] === undefined) settings.templateTokens[key] = value;
  }
}

export function tokenizerFromHfFiles(files: HfTokenizerFiles): LoomTokenizer {
  const origin = files.origin ?? "tokenizer.json";
  const root = asObject(files.tokenizerJson, origin);
  const configWhere = `${origin} (tokenizer_config.json)`;
  const config = files.tokenizerConfig === undefined ? {} : asObject(files.tokenizerConfig, configWhere);
  const specialMap = files.specialTokensMap === undefined ? {} : asObject(files.specialTokensMap, `${origin} (special_tokens_map.json)`);

  if (root.model === undefined) fail(origin, `no "model" section (is this a tokenizer.json file?)`);
  const { model, vocab } = buildModel(root.model, `${origin}: model`);
  const addedTokens = parseAddedTokens(root.added_tokens, `${origin}: added_tokens`);
  const settings = collectSettings(config, specialMap, files.chatTemplate, configWhere);
  if (files.tokenizerConfig === undefined) guessSettings(addedTokens, settings);

  const added = new Map(addedTokens.map((t) => [t.content, t.id]));
  const tokenToId = (t: string) => added.get(t) ?? vocab.get(t);
  const postProcessor =
    transformersPostProcessor(config, settings, tokenToId, configWhere) ?? buildPostProcessor(root.post_processor, `${origin}: post_processor`);

  return new LoomTokenizer({
    model,
    modelVocab: vocab,
    addedTokens,
    normalizer: buildNormalizer(root.normalizer, `${origin}: normalizer`),
    preTokenizer: buildPreTokenizer(root.pre_tokenizer, `${origin}: pre_tokenizer`),
    postProcessor,
    decoder: buildDecoder(root.decoder, `${origin}: decoder`),
    settings,
  });
}
