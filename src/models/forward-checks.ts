import { LoomError } from "../errors.js";
import { ModelKVCache } from "../nn/model-kv-cache.js";
import type { KVCache, ModelConfig } from "./types.js";

/**
 * Validates one forward call's arguments against the model and returns its cache: tokens are
 * in-vocabulary integers, the cache belongs to a model of this shape, its length is startPos, and
 * the new positions fit in `maxPositions`.
 */
export function checkForward(
  config: ModelConfig, tokens: ArrayLike<number>, startPos: number, cache: KVCache,
): ModelKVCache {
  if (!(cache instanceof ModelKVCache) || cache.nLayers !== config.numLayers ||
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

export const DEFAULT_PREFILL_CHUNK = 512;

/** The chunk size a call asked for, checked. */
export function prefillChunkOf(requested: number | undefined): number {
  const chunk = requested ?? DEFAULT_PREFILL_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1) throw new LoomError(`forward: prefillChunk must be a positive integer, got ${chunk}`);
  return chunk;
}

/**
 * Runs a call of n tokens at startPos as consecutive chunks of at most `chunk` tokens, each one
 * reserved in and committed to the cache like a call of its own (so a ring cache needs room for
 * its window plus one chunk, never the whole prompt). `run(from, to, logits)` pushes tokens
 * [from, to) through the model and writes the logits of its last logits.length / vocab tokens
 * (none: an empty view) into `logits`. The result is (nOut, vocab): every row for "all", the last
 * one for "last" — in `out` when the caller passes a buffer to reuse, else in a new array.
 */
export function forwardInChunks(
  cache: ModelKVCache, startPos: number, n: number, chunk: number, mode: "last" | "all", vocab: number,
  run: (from: number, to: number, logits: Float32Array) => void, out?: Float32Array,
): Float32Array {
  const size = (mode === "all" ? n : 1) * vocab;
  if (out !== undefined && out.length < size) {
    throw new LoomError(`forward: logitsOut holds ${out.length} floats, this call's logits need ${size}`);
  }
  const logits = out === undefined ? new Float32Array(size) : out.subarray(0, size); // owned by the caller
  try {
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk);
      const rows = mode === "all" ? to - from : to === n ? 1 : 0;
      cache.reserve(startPos + to);
      const at = mode === "all" ? from * vocab : 0;
      run(from, to, logits.subarray(at, at + rows * vocab));
      cache.commit(startPos + to);
    }
  } catch (error) {
    // Leave the cache as the call found it, where a ring still allows; the call's error is what matters.
    try { cache.truncate(startPos); } catch { /* a ring already overwrote older positions */ }
    throw error;
  }
  return logits;
}
