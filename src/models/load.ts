/**
 * Loading a causal LM from disk: an HF folder (config.json + model.safetensors or a sharded
 * index) or a single .gguf file. The registry picks the architecture; the architecture file reads
 * its config and weights.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { createWasmRuntime, type WasmRuntime } from "../kernels/wasm/index.js";
import { LOAD_DTYPES, type LoadDType } from "../nn/create-matrix.js";
import type { ReadOptions } from "../weights/file.js";
import { openGGUF } from "../weights/gguf.js";
import { openSafetensorsFolder } from "../weights/safetensors.js";
import type { WeightSource } from "../weights/source.js";
import type { JsonObject } from "./fields.js";
import { architectureForGGUF, architectureForHFConfig, type Architecture } from "./registry.js";
import type { WeightOptions } from "./tensor-loader.js";
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

export type Backend = "wasm" | "js";

export interface LoadOptions {
  /**
   * "wasm" (the default): matrix products run in the WebAssembly SIMD kernels on worker threads,
   * with the weights in their stored form (quantized GGUF tensors stay quantized). "js": the
   * TypeScript reference kernels (Q8_0/Q4_0 blocks multiplied the same way, step for step; every
   * other type dequantized to f32).
   */
  backend?: Backend;
  /** Threads for the WebAssembly kernels, the main thread included. Default: os.availableParallelism(). */
  threads?: number;
  /**
   * Store float weight matrices (f32, f16, bf16: safetensors models, F32/F16 GGUF files) as this
   * type, converted on load the way `loom convert` writes a GGUF of that type. Quantized matrices
   * keep their type, except with "f32", which dequantizes them.
   */
  dtype?: LoadDType;
}

/**
 * Opens the weights and builds the model. The files are closed once the weights are in memory.
 * With the WebAssembly backend the file's data section is read straight into the kernels' memory
 * (or, when converting to another dtype, read into ordinary memory that is dropped after the
 * load), and `model.dispose()` stops the worker threads; a model that is never disposed does not
 * keep the process alive.
 */
export async function loadCausalLM(path: string, options: LoadOptions = {}): Promise<CausalLM> {
  const backend = checkedBackend(options);
  const checkpoint = inspectCheckpoint(path);
  const runtime = backend === "wasm" ? wasmRuntime(options) : undefined;
  try {
    // Converting on load reads the file into temporary memory; otherwise tensors are used in place.
    const converting = runtime !== undefined && options.dtype !== undefined;
    const weights: WeightOptions = { backend: { runtime, dtype: options.dtype }, copyOut: converting };
    if (runtime === undefined) return buildFrom(checkpoint, {}, weights);
    // The data section is read on every thread: the workers start while the header is parsed.
    const read: ReadOptions = converting ? {} : {
      allocate: (bytes) => runtime.allocate(bytes),
      fill: (file, position, into) => runtime.readInto(file.fd, position, into),
    };
    const model = buildFrom(checkpoint, read, weights);
    await runtime.ready();
    return withRuntime(model, runtime);
  } catch (error) {
    runtime?.dispose();
    if (error instanceof LoomError && /4 GiB/.test(error.message)) {
      throw new LoomError(`${path}: ${error.message}; load it with a smaller dtype (dtype "q8_0" or "q4_0") or the "js" backend`);
    }
    throw error;
  }
}

/**
 * A runtime for the model, or undefined where this JavaScript engine has no shared WebAssembly
 * memory (then the TypeScript kernels run, unless "wasm" was asked for explicitly).
 */
function wasmRuntime(options: LoadOptions): WasmRuntime | undefined {
  try {
    return createWasmRuntime({ threads: options.threads });
  } catch (error) {
    if (error instanceof LoomError || options.backend === "wasm") throw error;
    return undefined;
  }
}

function checkedBackend(options: LoadOptions): Backend {
  const backend = options.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "js") throw new LoomError(`unknown backend "${String(backend)}"; choose "wasm" or "js"`);
  if (options.dtype !== undefined && !LOAD_DTYPES.includes(options.dtype)) {
    throw new LoomError(`unknown dtype "${String(options.dtype)}"; choose one of ${LOAD_DTYPES.join(", ")}`);
  }
  return backend;
}

function buildFrom(checkpoint: Checkpoint, read: ReadOptions, weights: WeightOptions): CausalLM {
  if (checkpoint.format === "hf") {
    const json = checkpoint.hfConfig!;
    const origin = checkpoint.configPath!;
    const arch = architectureForHFConfig(json, origin);
    const config = arch.configFromHF(json, origin);
    return build(arch, config, openSafetensorsFolder(checkpoint.path, read), "hf", weights);
  }
  const source = openGGUF(checkpoint.path, read);
  try {
    const arch = architectureForGGUF(source);
    return build(arch, arch.configFromGGUF!(source), source, "gguf", weights);
  } catch (error) {
    source.close?.();
    throw error;
  }
}

function build(arch: Architecture, config: ModelConfig, source: WeightSource, layout: CheckpointFormat, weights: WeightOptions): CausalLM {
  try {
    return arch.build(config, source, layout, weights);
  } finally {
    source.close?.();
  }
}

/** Stops a runtime's workers when its model is garbage-collected without dispose(). */
const orphans = new FinalizationRegistry<WasmRuntime>((runtime) => runtime.dispose());

/** The model, whose dispose() now also stops the runtime's worker threads. */
function withRuntime(model: CausalLM, runtime: WasmRuntime): CausalLM {
  const own = model.dispose?.bind(model);
  const token = {};
  orphans.register(model, runtime, token);
  model.dispose = () => {
    own?.();
    orphans.unregister(token);
    runtime.dispose();
  };
  return model;
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
