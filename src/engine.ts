/**
 * The one place that joins weights, the model registry, the tokenizer and generation defaults into
 * a loaded model. The API, the CLI and the bench all load through here.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LoomError } from "./errors.js";
import { resolveModelPath } from "./hub/index.js";
import type { HubDownloadOptions } from "./hub/download.js";
import { loadCausalLM, type LoadOptions } from "./models/load.js";
import type { CausalLM } from "./models/types.js";
import { loadTokenizer } from "./tokenizers/load.js";
import type { Tokenizer } from "./tokenizers/types.js";

/** The model Loom ships: trained from scratch by `loom train` (see docs/training.md). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL("../../models/loom-tiny", import.meta.url));

export interface EngineOptions extends HubDownloadOptions, LoadOptions {
  /** Worker threads for the kernels (default: all cores). */
  threads?: number;
}

/** A CausalLM carrying the defaults from its generation_config.json, which generate() merges in. */
export type LoadedCausalLM = CausalLM & { generationConfig?: unknown; path: string };

export interface LoadedModel {
  model: LoadedCausalLM;
  /** Absent when the checkpoint has no tokenizer (e.g. a bare safetensors folder). */
  tokenizer?: Tokenizer;
}

/** A local folder or .gguf path is used as is; anything else is a hub id ("gpt2", "org/name"). */
export async function resolveModel(idOrPath: string | undefined, options: EngineOptions = {}): Promise<string> {
  if (idOrPath === undefined) {
    if (!existsSync(DEFAULT_MODEL_DIR)) throw new LoomError(`the default model is missing at ${DEFAULT_MODEL_DIR}; pass --model`);
    return DEFAULT_MODEL_DIR;
  }
  return resolveModelPath(idOrPath, options);
}

export async function loadModel(idOrPath?: string, options: EngineOptions = {}): Promise<LoadedModel> {
  const path = await resolveModel(idOrPath, options);
  const [causal, tokenizer] = await Promise.all([loadCausalLM(path, options), loadTokenizerIfAny(path)]);
  const model = causal as LoadedCausalLM;
  model.path = path;
  model.generationConfig = readGenerationConfig(path);
  return { model, tokenizer };
}

export async function loadTokenizerIfAny(path: string): Promise<Tokenizer | undefined> {
  if (statSync(path).isDirectory()) {
    const has = (f: string) => existsSync(join(path, f));
    if (!has("tokenizer.json") && !(has("vocab.json") && has("merges.txt"))) return undefined;
    return loadTokenizer(path);
  }
  try {
    return await loadTokenizer(path);
  } catch (error) {
    // A GGUF file without tokenizer metadata still runs from ids.
    if (error instanceof LoomError && /tokenizer\.ggml/.test(error.message)) return undefined;
    throw error;
  }
}

function readGenerationConfig(path: string): unknown {
  if (!statSync(path).isDirectory()) return undefined;
  const file = join(path, "generation_config.json");
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new LoomError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}
