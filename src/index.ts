/**
 * Loom, a Transformer LLM engine in TypeScript. The package entry: the transformers-style API first,
 * then the layers under it for those who want them.
 */
export * from "./api/index.js";
export * from "./generation/index.js";
export * from "./tokenizers/index.js";
export * from "./hub/index.js";
export {
  DEFAULT_MODEL_DIR,
  loadModel,
  loadTokenizerIfAny,
  resolveModel,
  type EngineOptions,
  type LoadedCausalLM,
  type LoadedModel,
} from "./engine.js";
export {
  loadCausalLM,
  readModelConfig,
  inspectCheckpoint,
  supportedArchitectures,
  type CausalLM,
  type Checkpoint,
  type CheckpointFormat,
  type ForwardOptions,
  type KVCache,
  type LoadOptions,
  type ModelConfig,
  type TraceFn,
} from "./models/index.js";
export type { CacheOptions } from "./models/types.js";
export { LoomError } from "./errors.js";
