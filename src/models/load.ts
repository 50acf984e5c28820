/**
 * Loading a causal LM from disk: an HF folder (config.json + model.safetensors or a sharded
 * index) or a single .gguf file. The registry picks the architecture; the architecture file reads
 * its config and weights.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { openGGUF } from "../weights/gguf.js";
import { openSafetensorsFolder } from "../weights/safetensors.js";
import type { WeightSource } from "../weights/source.js";
import type { JsonObject } from "./fields.js";
import { architectureForGGUF, architectureForHFConfig, type Architecture } from "./registry.js";
import type { CausalLM, ModelConfig } from "./types.js";

export type CheckpointFormat = "hf" | "gguf";

/** What a path holds, before any weights are read. */
export interface Checkpoint {
  format: CheckpointFormat;
  path: string;
  /** config.json's contents (HF folders only). */
  hfConfig?: JsonObject;
  /** config.json's path (HF folders only), for error messages. */
  configPath?: string;
}

/** Decides how to read `path`: a folder with config.json, or a GGUF file (by magic, not by name). */
export function inspectCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new LoomError(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const configPath = join(path, "config.json");
    if (!existsSync(configPath)) throw new LoomError(`${path}: not a model folder (no config.json)`);
    return { format: "hf", path, configPath, hfConfig: readJsonObject(configPath) };
  }
  if (!isGGUF(path)) {
    throw new LoomError(`${path}: not a GGUF file (expected the magic "GGUF"); pass an HF folder or a .gguf file`);
  }
  return { format: "gguf", path };
}

/** Reads only the first four bytes. */
function isGGUF(path: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(path, "r");
  try {
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString("latin1") === "GGUF";
  } finally {
    closeSync(fd);
  }
}

function readJsonObject(path: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new LoomError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new LoomError(`${path}: expected a JSON object`);
  }
  return value as JsonObject;
}

export interface LoadOptions {
  /** Reserved for later backends (quantized matrices, WebAssembly); nothing to set today. */
}

/** Opens the weights and builds the model. The files are closed once the weights are in memory. */
export async function loadCausalLM(path: string, options: LoadOptions = {}): Promise<CausalLM> {
  void options;
  const checkpoint = inspectCheckpoint(path);
  if (checkpoint.format === "hf") {
    const json = checkpoint.hfConfig!;
    const origin = checkpoint.configPath!;
    const arch = architectureForHFConfig(json, origin);
    const config = arch.configFromHF(json, origin);
    return build(arch, config, openSafetensorsFolder(path), "hf");
  }
  const source = openGGUF(path);
  try {
    const arch = architectureForGGUF(source);
    return build(arch, arch.configFromGGUF!(source), source, "gguf");
  } catch (error) {
    source.close?.();
    throw error;
  }
}

function build(arch: Architecture, config: ModelConfig, source: WeightSource, layout: CheckpointFormat): CausalLM {
  try {
    return arch.build(config, source, layout);
  } finally {
    source.close?.();
  }
}

/** The model's configuration without building it (GGUF still reads the file for token_embd's shape). */
export function readModelConfig(path: string): ModelConfig {
  const checkpoint = inspectCheckpoint(path);
  if (checkpoint.format === "hf") {
    const arch = architectureForHFConfig(checkpoint.hfConfig!, checkpoint.configPath!);
    return arch.configFromHF(checkpoint.hfConfig!, checkpoint.configPath!);
  }
  const source = openGGUF(path);
  try {
    return architectureForGGUF(source).configFromGGUF!(source);
  } finally {
    source.close?.();
  }
}
