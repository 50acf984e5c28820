/** Loom's generation layer: options, the sampler chain, beam search, `generate` and `stream`. */
export { generate, type GenerateResult } from "./generate.js";
export { stream, decodeRow, type GenerationStep } from "./stream.js";
export { beamSearch, type BeamHypothesis } from "./beam.js";
export {
  resolveGenerationOptions,
  fromGenerationConfig,
  lengthBudget,
  HF_DEFAULTS,
  GENERATION_CONFIG_KEYS,
  OPTION_NAMES,
  type GenerationOptions,
  type ResolvedGenerationOptions,
  type EarlyStopping,
} from "./options.js";
export { TextStreamer, type Streamer, type TextStreamerOptions } from "./streamer.js";
export { StopStringMatcher, type FinishReason } from "./stopping.js";
export { chain, SamplerChain, type Sampler } from "./sampler.js";
export { greedy, distribution } from "./selectors.js";
export { temperature, topK, topP, minP, typical } from "./warpers.js";
export { repetitionPenalty, noRepeatNgram, minLength, minNewTokens } from "./processors.js";
export { processorChain, selectingChain } from "./logits-chain.js";
export { candidatesFromScores, type CandidateSet } from "./candidates.js";
export { createRng, type Rng } from "./rng.js";
