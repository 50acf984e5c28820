import { LoomError } from "../errors.js";
import { DenseKVCache } from "../nn/kv-cache.js";
import type { KVCache, ModelConfig } from "./types.js";

/**
 * Validates one forward call's arguments against the model and returns its dense cache: tokens
 * are in-vocabulary integers, the cache belongs to a model of this shape, its length is startPos,
 * and the new positions fit in `maxPositions`.
 */
export function checkForward(
  config: ModelConfig, tokens: ArrayLike<number>, startPos: number, cache: KVCache,
): DenseKVCache {
  if (!(cache instanceof DenseKVCache) || cache.nLayers !== config.numLayers ||
      cache.kvDim !== config.numKVHeads * config.headDim) {
    throw new LoomError(`forward: the cache was not created by this ${config.architecture} model's createCache()`);
  }
  if (!Number.isInteger(startPos) || startPos !== cache.length) {
    throw new LoomError(`forward: startPos ${startPos} must equal the number of cached positions (${cache.length})`);
  }
  if (tokens.length === 0) throw new LoomError("forward: no tokens given");
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new LoomError(`forward: token ${id} at index ${i} is outside the vocabulary (0..${config.vocabSize - 1})`);
    }
  }
  const end = startPos + tokens.length;
  if (end > config.maxPositions) {
    throw new LoomError(`forward: positions up to ${end} exceed the model's context of ${config.maxPositions}`);
  }
  return cache;
}
