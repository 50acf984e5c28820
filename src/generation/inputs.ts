/** Shared checks and helpers for the entry points: prompts, option sources, logits, cancellation. */
import { LoomError } from "../errors.js";
import type { CausalLM, KVCache } from "../models/types.js";
import type { Tokenizer } from "../tokenizers/types.js";
import type { OptionSources, ResolvedGenerationOptions } from "./options.js";

/** A model that may carry its folder's generation_config.json (the engine attaches it when present). */
export type ModelWithDefaults = CausalLM & { generationConfig?: unknown };

export function optionSources(model: CausalLM, tokenizer?: Tokenizer): OptionSources {
  return {
    modelConfig: model.config,
    generationConfig: (model as ModelWithDefaults).generationConfig,
    tokenizer,
  };
}

/**
 * One prompt or a batch, as lists of ids. With an attention mask, the positions it marks 0 are
 * padding and are dropped (each row then runs unpadded, which equals HF's left-padded batch with
 * position ids taken from the mask).
 */
export function normalizePrompts(inputIds: unknown, vocabSize: number, attentionMask?: number[][]): number[][] {
  if (!Array.isArray(inputIds) || inputIds.length === 0) {
    throw new LoomError("inputIds must be a non-empty array of token ids (or an array of such arrays)");
  }
  const rows: unknown[][] = inputIds.every((x) => Array.isArray(x)) ? (inputIds as unknown[][]) : [inputIds];
  if (attentionMask && attentionMask.length !== rows.length) {
    throw new LoomError(`attentionMask has ${attentionMask.length} rows but there are ${rows.length} prompts`);
  }
  return rows.map((row, r) => {
    if (!Array.isArray(row)) throw new LoomError(`prompt ${r} is not an array of token ids`);
    const mask = attentionMask?.[r];
    if (mask && mask.length !== row.length) {
      throw new LoomError(`attentionMask row ${r} has ${mask.length} entries but prompt ${r} has ${row.length} tokens`);
    }
    const ids: number[] = [];
    row.forEach((id, i) => {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new LoomError(`prompt ${r}, position ${i}: ${String(id)} is not a token id of this model (vocabulary ${vocabSize})`);
      }
      if (!mask || mask[i] === 1) ids.push(id);
    });
    if (ids.length === 0) {
      throw new LoomError(`prompt ${r} is empty: pass at least one token (for example the model's BOS id)`);
    }
    return ids;
  });
}

export function requireTokenizerForStops(o: ResolvedGenerationOptions, tokenizer?: Tokenizer): void {
  if (o.stopStrings.length > 0 && !tokenizer) {
    throw new LoomError(
      `stopStrings ${JSON.stringify(o.stopStrings)} need the model's tokenizer: pass it to generate/stream`,
    );
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  signal?.throwIfAborted();
}

/** Runs the prompt through a fresh cache and returns that cache and the last position's logits. */
export async function prefill(model: CausalLM, prompt: readonly number[]): Promise<{ cache: KVCache; logits: Float32Array }> {
  const cache = model.createCache();
  const logits = checkLogits(model, await model.forward(prompt, 0, cache));
  return { cache, logits };
}

export async function forwardOne(model: CausalLM, token: number, cache: KVCache): Promise<Float32Array> {
  return checkLogits(model, await model.forward([token], cache.length, cache));
}

function checkLogits(model: CausalLM, logits: Float32Array): Float32Array {
  const vocab = model.config.vocabSize;
  if (logits.length !== vocab) {
    throw new LoomError(`model "${model.config.architecture}" returned ${logits.length} logits for one position; expected vocabSize ${vocab}`);
  }
  for (let i = 0; i < vocab; i++) {
    if (Number.isNaN(logits[i])) throw new LoomError(`model "${model.config.architecture}" returned a NaN logit (token ${i})`);
  }
  return logits;
}

/** log softmax(scores)[index], computed stably. */
export function logSoftmaxAt(scores: ArrayLike<number>, index: number): number {
  return scores[index] - logSumExp(scores);
}

export function logSumExp(scores: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i] - max);
  return max + Math.log(sum);
}

/** log softmax over the whole vector (beam search scores with log-probabilities). */
export function logSoftmax(scores: ArrayLike<number>, out = new Float64Array(scores.length)): Float64Array {
  const lse = logSumExp(scores);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i] - lse;
  return out;
}
