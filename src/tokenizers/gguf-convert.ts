/**
 * Writes a tokenizer.json's vocabulary as GGUF metadata the way llama.cpp's converter does:
 * byte-level BPE becomes model "gpt2" (tokens, types, merges, a `pre` name), SentencePiece-style
 * BPE becomes model "llama" (tokens, types, scores). SentencePiece scores are not in tokenizer.json,
 * so they are rebuilt from the merge order: a piece scores -(rank of the first merge making it).
 */
import { LoomError } from "../errors.js";
import type { GGUFMetaEntry, GGUFType } from "../weights/gguf-format.js";
import type { MetaValue } from "../weights/source.js";
import { ggufPreNameFor } from "./gguf-pre.js";
import { parseAddedTokens, parseMerges, tokenizerFromHfFiles, type HfTokenizerFiles } from "./hf.js";
import { asObject } from "./json.js";
import { TokenType } from "./spm.js";
import type { LoomTokenizer } from "./tokenizer.js";

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

function usesByteLevel(config: unknown): boolean {
  return JSON.stringify(config ?? null).includes('"type":"ByteLevel"');
}

function prependsSpace(normalizer: unknown): boolean {
  return JSON.stringify(normalizer ?? null).includes('"type":"Prepend","prepend":"\u2581"');
}

/** `tokenizer` may be passed when already built from the same files. */
export function ggufMetadataFromHf(files: HfTokenizerFiles, tokenizer: LoomTokenizer = tokenizerFromHfFiles(files)): Map<string, MetaValue> {
  const origin = files.origin ?? "tokenizer.json";
  const root = asObject(files.tokenizerJson, origin);
  const model = asObject(root.model, `${origin}: model`);
  const merges = parseMerges(model.merges ?? [], `${origin}: model.merges`);
  const added = parseAddedTokens(root.added_tokens, `${origin}: added_tokens`);
  const addedById = new Map(added.map((t) => [t.id, t]));
  const unkToken = typeof model.unk_token === "string" ? model.unk_token : undefined;

  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const token = tokenizer.idToToken(id);
    const addedToken = addedById.get(id);
    tokens.push(token ?? `[PAD${id}]`);
    if (addedToken) types.push(addedToken.special ? TokenType.Control : TokenType.UserDefined);
    else if (token === undefined) types.push(TokenType.Unused);
    else if (token === unkToken) types.push(TokenType.Unknown);
    else if (model.byte_fallback === true && BYTE_PIECE.test(token)) types.push(TokenType.Byte);
    else types.push(TokenType.Normal);
  }

  const meta = new Map<string, MetaValue>();
  const byteLevel = usesByteLevel(root.pre_tokenizer) || usesByteLevel(root.decoder);
  if (byteLevel) {
    const pre = ggufPreNameFor(root.pre_tokenizer, root.normalizer, model.ignore_merges === true);
    if (pre === undefined) throw new LoomError(`${origin}: no known GGUF pre-tokenizer name matches this pre_tokenizer/normalizer`);
    meta.set("tokenizer.ggml.model", "gpt2");
    meta.set("tokenizer.ggml.pre", pre);
    meta.set("tokenizer.ggml.tokens", tokens);
    meta.set("tokenizer.ggml.token_type", types);
    meta.set("tokenizer.ggml.merges", merges.map(([a, b]) => `${a} ${b}`));
  } else {
    const firstRank = new Map<string, number>();
    merges.forEach(([a, b], rank) => {
      if (!firstRank.has(a + b)) firstRank.set(a + b, rank);
    });
    const unreachable = -(merges.length + 1);
    meta.set("tokenizer.ggml.model", "llama");
    meta.set("tokenizer.ggml.tokens", tokens);
    meta.set("tokenizer.ggml.scores", tokens.map((t) => -(firstRank.get(t) ?? -unreachable)));
    meta.set("tokenizer.ggml.token_type", types);
    meta.set("tokenizer.ggml.add_space_prefix", prependsSpace(root.normalizer));
  }

  const put = (key: string, id: number | undefined) => {
    if (id !== undefined) meta.set(key, id);
  };
  put("tokenizer.ggml.bos_token_id", tokenizer.bosTokenId);
  put("tokenizer.ggml.eos_token_id", tokenizer.eosTokenId);
  put("tokenizer.ggml.padding_token_id", tokenizer.padTokenId);
  put("tokenizer.ggml.unknown_token_id", unkToken === undefined ? undefined : tokenizer.tokenToId(unkToken));

  // What the post-processor adds around an empty text tells add_bos/add_eos.
  const specials = tokenizer.encode("", { addSpecialTokens: true });
  const addBos = specials.length > 0 && specials[0] === tokenizer.bosTokenId;
  const addEos = specials.length > (addBos ? 1 : 0) && specials[specials.length - 1] === tokenizer.eosTokenId;
  if (specials.length !== Number(addBos) + Number(addEos)) {
    throw new LoomError(`${origin}: the post-processor adds ${JSON.stringify(specials)}, which GGUF's add_bos/add_eos flags cannot express`);
  }
  meta.set("tokenizer.ggml.add_bos_token", addBos);
  meta.set("tokenizer.ggml.add_eos_token", addEos);
  if (tokenizer.settings.chatTemplate !== undefined) meta.set("tokenizer.chat_template", tokenizer.settings.chatTemplate);
  return meta;
}

const ENTRY_TYPES: Record<string, GGUFType> = {
  "tokenizer.ggml.tokens": { array: "string" },
  "tokenizer.ggml.merges": { array: "string" },
  "tokenizer.ggml.scores": { array: "float32" },
  "tokenizer.ggml.token_type": { array: "int32" },
  "tokenizer.ggml.bos_token_id": "uint32",
  "tokenizer.ggml.eos_token_id": "uint32",
  "tokenizer.ggml.padding_token_id": "uint32",
  "tokenizer.ggml.unknown_token_id": "uint32",
};

/** The metadata with the exact GGUF value types llama.cpp expects, ready for writeGGUF. */
export function ggufEntries(meta: ReadonlyMap<string, MetaValue>): GGUFMetaEntry[] {
  return [...meta].map(([key, value]) => ({
    key,
    type: ENTRY_TYPES[key] ?? (typeof value === "boolean" ? "bool" : typeof value === "string" ? "string" : "int32"),
    value,
  }));
}
