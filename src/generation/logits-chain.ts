/** Builds the sampler chain for one sequence in exactly HF's `_get_logits_processor` order. */
import type { ResolvedGenerationOptions } from "./options.js";
import { minLength, minNewTokens, noRepeatNgram, repetitionPenalty } from "./processors.js";
import type { Rng } from "./rng.js";
import { chain, type Sampler, type SamplerChain } from "./sampler.js";
import { distribution, greedy } from "./selectors.js";
import { minP, temperature, topK, topP, typical } from "./warpers.js";

export interface RowShape {
  /** Tokens of this row's prompt (without padding). */
  promptLength: number;
  /** Padding HF would have put before this row in a left-padded batch (counts toward minLength). */
  padding: number;
  /** Total length, prompt and padding included, below which EOS is banned. */
  minLength: number;
}

/**
 * Processors (repetition penalty -> no-repeat-ngram -> min length -> min new tokens), then, when
 * sampling, the warpers (temperature -> top-k -> top-p -> min-p -> typical). No selector: beam search
 * scores the processed set itself; `selectingChain` adds greedy or a seeded draw.
 */
export function processorChain(o: ResolvedGenerationOptions, row: RowShape): SamplerChain {
  const samplers: Sampler[] = [];
  if (o.repetitionPenalty !== 1) samplers.push(repetitionPenalty(o.repetitionPenalty));
  if (o.noRepeatNgramSize > 0) samplers.push(noRepeatNgram(o.noRepeatNgramSize));
  if (o.eosTokenIds.length > 0 && row.minLength > 0) samplers.push(minLength(o.eosTokenIds, row.minLength, row.padding));
  if (o.eosTokenIds.length > 0 && (o.minNewTokens ?? 0) > 0) {
    samplers.push(minNewTokens(o.eosTokenIds, o.minNewTokens ?? 0, row.promptLength));
  }
  if (o.doSample) {
    // Beam sampling keeps one more token than there are EOS ids, so some beam can always go on.
    const minKeep = o.numBeams > 1 ? Math.max(o.eosTokenIds.length, 1) + 1 : 1;
    if (o.temperature !== 1) samplers.push(temperature(o.temperature));
    if (o.topK !== 0) samplers.push(topK(o.topK, minKeep));
    if (o.topP < 1) samplers.push(topP(o.topP, minKeep));
    if (o.minP !== undefined) samplers.push(minP(o.minP, minKeep));
    if (o.typicalP < 1) samplers.push(typical(o.typicalP, minKeep));
  }
  return chain(...samplers);
}

export function selectingChain(o: ResolvedGenerationOptions, row: RowShape, rng: Rng): SamplerChain {
  const processors = processorChain(o, row);
  return chain(...processors.samplers, o.doSample ? distribution(rng) : greedy());
}
