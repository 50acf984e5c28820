/**
 * Generation options with Hugging Face's names (camelCase) and semantics. They merge as
 * HF defaults <- model config (eos/pad ids) <- generation_config.json <- the call, and are checked the
 * way HF checks them, with LoomErrors that name the option and its source.
 */
import { LoomError } from "../errors.js";
import type { ModelConfig } from "../models/types.js";
import type { Tokenizer } from "../tokenizers/types.js";
import type { Streamer } from "./streamer.js";

export type EarlyStopping = boolean | "never";

export interface GenerationOptions {
  /** Longest total sequence, prompt included (HF: 20 new tokens when no length is set anywhere). */
  maxLength?: number;
  /** Most tokens to generate after the prompt; wins over maxLength. */
  maxNewTokens?: number;
  /** EOS is banned while the sequence, prompt included, is shorter than this. */
  minLength?: number;
  /** EOS is banned until this many tokens follow the prompt; wins over minLength. */
  minNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  typicalP?: number;
  repetitionPenalty?: number;
  noRepeatNgramSize?: number;
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: EarlyStopping;
  numReturnSequences?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  stopStrings?: string | string[];
  seed?: number;
  // Loom's own, with no HF counterpart in generation_config.json:
  /** 1 for real tokens, 0 for padding, one row per prompt (HF's attention_mask); pads are dropped. */
  attentionMask?: number[][];
  /** Cancels generation: the pending `generate`/`stream` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** HF-style callback streamer (see TextStreamer); one sequence only, not with beams. */
  streamer?: Streamer;
  /** Whether streamed text leaves out special tokens such as EOS (default true). */
  skipSpecialTokens?: boolean;
}

export interface ResolvedGenerationOptions {
  maxLength: number;
  /** HF's has_default_max_length: the call did not set maxLength. */
  maxLengthIsDefault: boolean;
  maxNewTokens?: number;
  minLength: number;
  minNewTokens?: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP?: number;
  typicalP: number;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  numReturnSequences: number;
  eosTokenIds: number[];
  padTokenId?: number;
  stopStrings: string[];
  seed?: number;
  attentionMask?: number[][];
  signal?: AbortSignal;
  streamer?: Streamer;
  skipSpecialTokens: boolean;
}

/** transformers' GenerationConfig defaults for the options Loom supports. */
export const HF_DEFAULTS = {
  maxLength: 20,
  minLength: 0,
  doSample: false,
  temperature: 1.0,
  topK: 50,
  topP: 1.0,
  typicalP: 1.0,
  repetitionPenalty: 1.0,
  noRepeatNgramSize: 0,
  numBeams: 1,
  lengthPenalty: 1.0,
  earlyStopping: false as EarlyStopping,
  numReturnSequences: 1,
} as const;

/** generation_config.json keys Loom reads, and their option names; other keys are ignored. */
export const GENERATION_CONFIG_KEYS: Readonly<Record<string, keyof GenerationOptions>> = {
  max_length: "maxLength",
  max_new_tokens: "maxNewTokens",
  min_length: "minLength",
  min_new_tokens: "minNewTokens",
  do_sample: "doSample",
  temperature: "temperature",
  top_k: "topK",
  top_p: "topP",
  min_p: "minP",
  typical_p: "typicalP",
  repetition_penalty: "repetitionPenalty",
  no_repeat_ngram_size: "noRepeatNgramSize",
  num_beams: "numBeams",
  length_penalty: "lengthPenalty",
  early_stopping: "earlyStopping",
  num_return_sequences: "numReturnSequences",
  eos_token_id: "eosTokenId",
  pad_token_id: "padTokenId",
  stop_strings: "stopStrings",
};

// ---- value checks -------------------------------------------------------------------------------

type Check = (value: unknown) => string | undefined;

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const intAtLeast =
  (min: number): Check =>
  (v) =>
    isInt(v) && v >= min ? undefined : `must be an integer >= ${min}`;
const tokenId: Check = (v) => (isInt(v) && v >= 0 ? undefined : "must be a non-negative integer token id");

const CHECKS: Record<keyof GenerationOptions, Check> = {
  maxLength: intAtLeast(1),
  maxNewTokens: (v) => (isInt(v) && v > 0 ? undefined : `must be greater than 0`),
  minLength: intAtLeast(0),
  minNewTokens: intAtLeast(0),
  doSample: (v) => (typeof v === "boolean" ? undefined : "must be true or false"),
  temperature: (v) => (isNum(v) ? undefined : "must be a finite number"),
  topK: (v) => (isInt(v) && v >= 0 ? undefined : "has to be a non-negative integer (0 turns top-k off)"),
  topP: (v) => (isNum(v) && v > 0 && v <= 1 ? undefined : "has to be a float in (0, 1]"),
  minP: (v) => (isNum(v) && v >= 0 && v <= 1 ? undefined : "has to be a float in [0, 1]"),
  typicalP: (v) => (isNum(v) && v > 0 && v <= 1 ? undefined : "has to be a float in (0, 1]"),
  repetitionPenalty: (v) => (isNum(v) && v > 0 ? undefined : "has to be a strictly positive float"),
  noRepeatNgramSize: intAtLeast(0),
  numBeams: intAtLeast(1),
  lengthPenalty: (v) => (isNum(v) ? undefined : "must be a finite number"),
  earlyStopping: (v) => (typeof v === "boolean" || v === "never" ? undefined : `must be a boolean or "never"`),
  numReturnSequences: intAtLeast(1),
  eosTokenId: (v) =>
    Array.isArray(v)
      ? v.length > 0 && v.every((x) => tokenId(x) === undefined)
        ? undefined
        : "must be a token id or a non-empty array of token ids"
      : tokenId(v),
  padTokenId: tokenId,
  stopStrings: (v) => {
    const list = typeof v === "string" ? [v] : v;
    return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === "string" && s.length > 0)
      ? undefined
      : "must be a non-empty string or an array of non-empty strings";
  },
  seed: (v) => (isInt(v) ? undefined : "must be an integer"),
  attentionMask: (v) =>
    Array.isArray(v) && v.every((row) => Array.isArray(row) && row.every((x) => x === 0 || x === 1))
      ? undefined
      : "must be an array of rows of 0s and 1s",
  signal: (v) => (typeof v === "object" && v !== null && "aborted" in v ? undefined : "must be an AbortSignal"),
  streamer: (v) =>
    typeof v === "object" && v !== null && typeof (v as Streamer).put === "function" && typeof (v as Streamer).end === "function"
      ? undefined
      : "must be an object with put(ids) and end() methods",
  skipSpecialTokens: (v) => (typeof v === "boolean" ? undefined : "must be true or false"),
};

export const OPTION_NAMES = Object.keys(CHECKS) as (keyof GenerationOptions)[];

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The valid option closest to a misspelt one (snake_case and case differences cost nothing). */
export function closestOption(name: string): string | undefined {
  const plain = (s: string): string => s.replace(/[_-]/g, "").toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const option of OPTION_NAMES) {
    const d = editDistance(plain(name), plain(option));
    if (d < bestDistance) [best, bestDistance] = [option, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Checks a call's options: unknown names and ill-typed values throw, undefined means "unset". */
export function checkCallOptions(options: unknown): GenerationOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new LoomError(`generation options must be an object, got ${Array.isArray(options) ? "an array" : typeof options}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (!(name in CHECKS)) {
      const suggestion = closestOption(name);
      throw new LoomError(
        `unknown generation option "${name}".${suggestion ? ` Did you mean "${suggestion}"?` : ""} ` +
          `Valid options: ${OPTION_NAMES.join(", ")}`,
      );
    }
    if (value === undefined) continue;
    const problem = CHECKS[name as keyof GenerationOptions](value);
    if (problem) throw new LoomError(`generation option ${name} ${problem}, but is ${show(value)}`);
    out[name] = value;
  }
  return out as GenerationOptions;
}

/** Maps generation_config.json to options: known snake_case keys only, null meaning unset. */
export function fromGenerationConfig(json: unknown, source = "generation_config.json"): GenerationOptions {
  if (json === undefined || json === null) return {};
  if (typeof json !== "object" || Array.isArray(json)) throw new LoomError(`${source} must hold a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const name = GENERATION_CONFIG_KEYS[key];
    if (!name || value === null || value === undefined) continue;
    const problem = CHECKS[name](value);
    if (problem) throw new LoomError(`${source}: ${key} ${problem}, but is ${show(value)}`);
    out[name] = value;
  }
  return out as GenerationOptions;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value).slice(0, 80);
    } catch {
      return "an object";
    }
  }
  return String(value);
}

export interface OptionSources {
  modelConfig?: Pick<ModelConfig, "eosTokenId" | "padTokenId">;
  /** The raw generation_config.json object, if the model folder had one. */
  generationConfig?: unknown;
  tokenizer?: Pick<Tokenizer, "eosTokenId" | "padTokenId">;
}

const asList = (ids: number | number[] | undefined): number[] => (ids === undefined ? [] : Array.isArray(ids) ? [...ids] : [ids]);

/** Merges defaults <- model config <- generation_config.json <- call, then checks the combination. */
export function resolveGenerationOptions(call: unknown, sources: OptionSources = {}): ResolvedGenerationOptions {
  const fromCall = checkCallOptions(call);
  const fromFile = fromGenerationConfig(sources.generationConfig);
  const fromModel: GenerationOptions = {};
  if (sources.modelConfig?.eosTokenId !== undefined) fromModel.eosTokenId = sources.modelConfig.eosTokenId;
  if (sources.modelConfig?.padTokenId !== undefined) fromModel.padTokenId = sources.modelConfig.padTokenId;
  const merged: GenerationOptions = { ...HF_DEFAULTS, ...fromModel, ...fromFile, ...fromCall };

  let eosTokenIds = asList(merged.eosTokenId);
  // A GGUF or a bare model may only know its EOS through the tokenizer.
  if (eosTokenIds.length === 0 && sources.tokenizer?.eosTokenId !== undefined) eosTokenIds = [sources.tokenizer.eosTokenId];
  // HF: "Setting pad_token_id to eos_token_id for open-end generation".
  const padTokenId = merged.padTokenId ?? eosTokenIds[0] ?? sources.tokenizer?.padTokenId;

  const resolved: ResolvedGenerationOptions = {
    maxLength: merged.maxLength ?? HF_DEFAULTS.maxLength,
    maxLengthIsDefault: fromCall.maxLength === undefined,
    maxNewTokens: merged.maxNewTokens,
    minLength: merged.minLength ?? 0,
    minNewTokens: merged.minNewTokens,
    doSample: merged.doSample ?? false,
    temperature: merged.temperature ?? 1,
    topK: merged.topK ?? 0,
    topP: merged.topP ?? 1,
    minP: merged.minP,
    typicalP: merged.typicalP ?? 1,
    repetitionPenalty: merged.repetitionPenalty ?? 1,
    noRepeatNgramSize: merged.noRepeatNgramSize ?? 0,
    numBeams: merged.numBeams ?? 1,
    lengthPenalty: merged.lengthPenalty ?? 1,
    earlyStopping: merged.earlyStopping ?? false,
    numReturnSequences: merged.numReturnSequences ?? 1,
    eosTokenIds,
    padTokenId,
    stopStrings: merged.stopStrings === undefined ? [] : asStrings(merged.stopStrings),
    seed: merged.seed,
    attentionMask: merged.attentionMask,
    signal: merged.signal,
    streamer: merged.streamer,
    skipSpecialTokens: merged.skipSpecialTokens ?? true,
  };
  checkCombination(resolved);
  return resolved;
}

const asStrings = (s: string | string[]): string[] => (typeof s === "string" ? [s] : [...s]);

/** The cross-option rules HF enforces (GenerationConfig.validate and the warpers' constructors). */
function checkCombination(o: ResolvedGenerationOptions): void {
  if (o.doSample && !(o.temperature > 0)) {
    throw new LoomError(
      `temperature (=${o.temperature}) has to be a strictly positive float when sampling, otherwise the next ` +
        `token scores would be invalid. If you want greedy decoding, set doSample: false.`,
    );
  }
  if (o.numReturnSequences !== 1) {
    if (o.numBeams === 1 && !o.doSample) {
      throw new LoomError(
        `greedy decoding without beam search does not support numReturnSequences different from 1 ` +
          `(got ${o.numReturnSequences}); set doSample: true or numBeams >= ${o.numReturnSequences}`,
      );
    }
    if (o.numBeams > 1 && o.numReturnSequences > o.numBeams) {
      throw new LoomError(`numReturnSequences (${o.numReturnSequences}) has to be smaller or equal to numBeams (${o.numBeams})`);
    }
  }
}

export interface LengthBudget {
  /** Total length limit, prompt included. */
  maxLength: number;
  maxNewTokens: number;
  /** Total length below which EOS is banned, prompt included. */
  minLength: number;
}

/**
 * HF's `_prepare_generated_length` for a prompt of `promptLength` tokens (the padded length in a
 * batch): maxNewTokens wins; with no length set anywhere, maxLength = 20 means 20 *new* tokens
 * (capped at the model's positions); minNewTokens likewise wins over minLength.
 */
export function lengthBudget(o: ResolvedGenerationOptions, promptLength: number, maxPositions?: number): LengthBudget {
  let maxLength = o.maxLength;
  if (o.maxNewTokens !== undefined) maxLength = o.maxNewTokens + promptLength;
  else if (o.maxLengthIsDefault && o.maxLength === HF_DEFAULTS.maxLength) {
    maxLength = HF_DEFAULTS.maxLength + promptLength;
    if (maxPositions !== undefined && maxPositions > 0) maxLength = Math.min(maxLength, maxPositions);
  }
  const minLength = o.minNewTokens !== undefined ? o.minNewTokens + promptLength : o.minLength;
  if (promptLength >= maxLength) {
    throw new LoomError(
      `input length of input_ids is ${promptLength}, but maxLength is set to ${maxLength}. ` +
        `Increase maxLength or, better, set maxNewTokens.`,
    );
  }
  return { maxLength, maxNewTokens: maxLength - promptLength, minLength };
}
