/**
 * GGUF files name their byte-level pre-tokenizer (`tokenizer.ggml.pre`) instead of storing it;
 * llama.cpp maps each name to split regexes in code. This table maps the names Loom knows to the
 * tokenizer.json pipeline pieces they stand for. The converter uses the same table in reverse.
 */
import { GPT2_PATTERN } from "./gpt2-split.js";
import { LLAMA3_PATTERN, QWEN2_PATTERN } from "./llama3-split.js";

export interface GgufPreTokenizerSpec {
  /** tokenizer.json `pre_tokenizer`. */
  preTokenizer: Record<string, unknown>;
  /** tokenizer.json `normalizer` (llama.cpp applies none; HF's files do, and Loom follows HF). */
  normalizer: Record<string, unknown> | null;
  /** BPE `ignore_merges` (llama.cpp sets it for llama-bpe). */
  ignoreMerges: boolean;
}

const DEEPSEEK_V3_PATTERNS = [
  "\\p{N}{1,3}",
  "[一-龥぀-ゟ゠-ヿ]+",
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

const split = (pattern: string) => ({ type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false });
const byteLevel = (useRegex: boolean) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const sequence = (...pretokenizers: Record<string, unknown>[]) => ({ type: "Sequence", pretokenizers });

export const GGUF_PRE_TOKENIZERS: Record<string, GgufPreTokenizerSpec> = {
  "gpt-2": { preTokenizer: byteLevel(true), normalizer: null, ignoreMerges: false },
  "llama-bpe": { preTokenizer: sequence(split(LLAMA3_PATTERN), byteLevel(false)), normalizer: null, ignoreMerges: true },
  qwen2: { preTokenizer: sequence(split(QWEN2_PATTERN), byteLevel(false)), normalizer: { type: "NFC" }, ignoreMerges: false },
  "deepseek-v3": { preTokenizer: sequence(...DEEPSEEK_V3_PATTERNS.map(split), byteLevel(false)), normalizer: null, ignoreMerges: false },
  smollm: { preTokenizer: sequence({ type: "Digits", individual_digits: true }, byteLevel(true)), normalizer: null, ignoreMerges: false },
};

/** Other names llama.cpp gives the same splitting rules. */
const ALIASES: Record<string, string> = {
  default: "gpt-2",
  mpt: "gpt-2",
  olmo: "gpt-2",
  llama3: "llama-bpe",
  "llama-v3": "llama-bpe",
  starcoder: "smollm",
  refact: "smollm",
};

/** The spec for a `tokenizer.ggml.pre` name (or an alias of one), if Loom knows it. */
export function ggufPreTokenizer(name: string): GgufPreTokenizerSpec | undefined {
  return GGUF_PRE_TOKENIZERS[ALIASES[name] ?? name];
}

/** The pre-tokenizer assumed when a GGUF file names none. */
export const DEFAULT_GGUF_PRE = "gpt-2";

/** Keeps only the fields that change ids, so equivalent configs compare equal. */
function canonical(config: unknown): unknown {
  if (config === null || config === undefined) return null;
  if (Array.isArray(config)) return config.map(canonical);
  if (typeof config !== "object") return config;
  const obj = config as Record<string, unknown>;
  switch (obj.type) {
    case "ByteLevel":
      return { type: "ByteLevel", add_prefix_space: obj.add_prefix_space ?? true, use_regex: obj.use_regex ?? true };
    case "Split":
      return { type: "Split", pattern: obj.pattern, behavior: obj.behavior, invert: obj.invert ?? false };
    case "Digits":
      return { type: "Digits", individual_digits: obj.individual_digits ?? false };
    case "Sequence": {
      const children = ((obj.pretokenizers ?? obj.normalizers) as unknown[]).map(canonical).filter((c) => c !== null);
      return children.length === 0 ? null : children.length === 1 ? children[0] : children;
    }
    default:
      return obj;
  }
}

function sameConfig(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The GGUF pre-tokenizer name for a tokenizer.json pipeline, or undefined if none matches. */
export function ggufPreNameFor(preTokenizer: unknown, normalizer: unknown, ignoreMerges: boolean): string | undefined {
  for (const [name, spec] of Object.entries(GGUF_PRE_TOKENIZERS)) {
    if (sameConfig(spec.preTokenizer, preTokenizer) && sameConfig(spec.normalizer, normalizer) && spec.ignoreMerges === ignoreMerges) return name;
  }
  return undefined;
}

export { GPT2_PATTERN };
