/**
 * Which architecture file builds a checkpoint. Keys are Loom's architecture names; HF
 * `model_type`s, HF `architectures` class names and GGUF `general.architecture` values reach them
 * through one alias map. Several keys share one file (Mistral and Qwen2 are Llama configs).
 */
import { LoomError } from "../errors.js";
import type { WeightSource } from "../weights/source.js";
import type { JsonObject } from "./fields.js";
import { buildGemma3, gemma3ConfigFromGGUF, gemma3ConfigFromHF } from "./gemma3.js";
import { buildGPT2, gpt2ConfigFromGGUF, gpt2ConfigFromHF } from "./gpt2.js";
import { buildLlama, llamaConfigFromGGUF, llamaConfigFromHF } from "./llama.js";
import type { WeightOptions } from "./tensor-loader.js";
import type { CausalLM, ModelConfig } from "./types.js";

export interface Architecture {
  readonly name: string;
  /** Reads config.json; `origin` names the file in errors. */
  configFromHF(json: JsonObject, origin: string): ModelConfig;
  /** Reads GGUF metadata (and token_embd's shape); undefined when GGUF files never use this key. */
  configFromGGUF?(source: WeightSource): ModelConfig;
  /** Builds the model from a config this entry produced; `weights` picks the matrices' backend. */
  build(config: ModelConfig, source: WeightSource, layout: "hf" | "gguf", weights?: WeightOptions): CausalLM;
}

// Each entry's build receives a config its own configFrom* made; the casts restore that type.
const ARCHITECTURES: readonly Architecture[] = [
  {
    name: "gpt2",
    configFromHF: gpt2ConfigFromHF,
    configFromGGUF: gpt2ConfigFromGGUF,
    build: (config, source, layout, weights) => buildGPT2(config as ReturnType<typeof gpt2ConfigFromHF>, source, layout, weights),
  },
  {
    name: "llama",
    configFromHF: (json, origin) => llamaConfigFromHF(json, origin, "llama"),
    configFromGGUF: (source) => llamaConfigFromGGUF(source, "llama"),
    build: (config, source, layout, weights) => buildLlama(config as ReturnType<typeof llamaConfigFromHF>, source, layout, weights),
  },
  {
    name: "mistral",
    configFromHF: (json, origin) => llamaConfigFromHF(json, origin, "mistral"),
    build: (config, source, layout, weights) => buildLlama(config as ReturnType<typeof llamaConfigFromHF>, source, layout, weights),
  },
  {
    name: "qwen2",
    configFromHF: (json, origin) => llamaConfigFromHF(json, origin, "qwen2"),
    configFromGGUF: (source) => llamaConfigFromGGUF(source, "qwen2"),
    build: (config, source, layout, weights) => buildLlama(config as ReturnType<typeof llamaConfigFromHF>, source, layout, weights),
  },
  {
    name: "qwen3",
    configFromHF: (json, origin) => llamaConfigFromHF(json, origin, "qwen3"),
    configFromGGUF: (source) => llamaConfigFromGGUF(source, "qwen3"),
    build: (config, source, layout, weights) => buildLlama(config as ReturnType<typeof llamaConfigFromHF>, source, layout, weights),
  },
  {
    name: "gemma3",
    configFromHF: gemma3ConfigFromHF,
    configFromGGUF: gemma3ConfigFromGGUF,
    build: (config, source, layout, weights) => buildGemma3(config as ReturnType<typeof gemma3ConfigFromHF>, source, layout, weights),
  },
];

/** Other spellings of the same architectures (HF class names, model families that are configs). */
const ALIASES: Readonly<Record<string, string>> = {
  GPT2LMHeadModel: "gpt2",
  GPT2Model: "gpt2",
  LlamaForCausalLM: "llama",
  LlamaModel: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  gemma3_text: "gemma3",
  Gemma3ForCausalLM: "gemma3",
  Gemma3ForConditionalGeneration: "gemma3",
  smollm: "llama",
  smollm2: "llama",
  tinyllama: "llama",
  llama2: "llama",
  llama3: "llama",
};

export function supportedArchitectures(): string[] {
  return ARCHITECTURES.map((a) => a.name);
}

/** The entry for a name or alias, or undefined. */
export function findArchitecture(name: string): Architecture | undefined {
  const key = ALIASES[name] ?? name;
  return ARCHITECTURES.find((a) => a.name === key);
}

function unsupported(what: string, origin: string, supported: string[]): LoomError {
  return new LoomError(
    `${origin}: unsupported architecture ${what}; supported: ${supported.join(", ")} ` +
    `(also accepted: ${Object.keys(ALIASES).join(", ")})`,
  );
}

/** From config.json: `model_type` first, then each class name in `architectures`. */
export function architectureForHFConfig(json: JsonObject, origin: string): Architecture {
  const candidates: string[] = [];
  if (typeof json.model_type === "string") candidates.push(json.model_type);
  if (Array.isArray(json.architectures)) {
    for (const a of json.architectures) if (typeof a === "string") candidates.push(a);
  }
  if (candidates.length === 0) throw new LoomError(`${origin}: missing required field "model_type" (or "architectures")`);
  for (const name of candidates) {
    const arch = findArchitecture(name);
    if (arch) return arch;
  }
  throw unsupported(`"${candidates.join('" / "')}"`, origin, supportedArchitectures());
}

/** From a GGUF file's `general.architecture`. */
export function architectureForGGUF(source: WeightSource): Architecture {
  const value = source.metadata.get("general.architecture");
  if (typeof value !== "string") {
    throw new LoomError(`${source.origin}: missing required metadata "general.architecture"`);
  }
  const arch = findArchitecture(value);
  if (!arch || !arch.configFromGGUF) {
    const inGGUF = ARCHITECTURES.filter((a) => a.configFromGGUF).map((a) => a.name);
    throw unsupported(`"${value}" (GGUF general.architecture)`, source.origin, inGGUF);
  }
  return arch;
}
