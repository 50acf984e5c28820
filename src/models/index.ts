/** Models: the CausalLM contract, the architectures, and loading them from disk. */
export type { CacheOptions, CausalLM, ForwardOptions, KVCache, ModelConfig, TraceFn } from "./types.js";
export { loadCausalLM, readModelConfig, inspectCheckpoint, type Checkpoint, type CheckpointFormat, type LoadOptions } from "./load.js";
export { architectureForGGUF, architectureForHFConfig, findArchitecture, supportedArchitectures, type Architecture } from "./registry.js";
export { buildGPT2, gpt2ConfigFromGGUF, gpt2ConfigFromHF, type GPT2Config } from "./gpt2.js";
export { buildLlama, llamaConfigFromGGUF, llamaConfigFromHF, type LlamaArchitecture, type LlamaConfig, type RopeScaling } from "./llama.js";
export { buildGemma3, gemma3ConfigFromGGUF, gemma3ConfigFromHF, type Gemma3Config } from "./gemma3.js";
export { type AttentionLayerType } from "./layer-types.js";
