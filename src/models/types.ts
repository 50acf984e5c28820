/**
 * The contract between models and everything above them (generation, API, CLI, bench).
 * Positions and cache are explicit: prefill and decode are the same `forward` call.
 */

/** Architecture-independent facts about a loaded model. Each architecture file may extend it. */
export interface ModelConfig {
  /** Registry key, e.g. "gpt2", "llama", "qwen2", "mistral". */
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKVHeads: number;
  headDim: number;
  intermediateSize: number;
  /** The longest context the model was configured for. */
  maxPositions: number;
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
}

/** Per-layer keys and values seen so far. `length` is the number of positions stored. */
export interface KVCache {
  readonly length: number;
  /** An independent copy (beam search forks sequences). */
  clone(): KVCache;
  /** Forget every position at or after `length`. */
  truncate(length: number): void;
  /**
   * Hands the cache's memory back now instead of when it is garbage-collected (a WebAssembly
   * model keeps keys and values in its runtime's memory, which the collector does not see filling
   * up). The cache must not be used afterwards. Optional: caches in ordinary arrays need not.
   */
  release?(): void;
}

/** Called with named activations so a layer can be compared with a reference dump. */
export type TraceFn = (name: string, layer: number, data: Float32Array) => void;

export interface ForwardOptions {
  /** Which positions need logits: only the last (default, cheapest) or all of them. */
  logits?: "last" | "all";
  /**
   * Write the logits into this buffer (it must hold them all) and return a view of it, instead of
   * a new array per call: a decode loop that is done with each step's logits reuses one.
   */
  logitsOut?: Float32Array;
  /**
   * Longest run of tokens pushed through the layers at once (default 512). A longer call is
   * processed in chunks of this size — same results as one pass, with activation memory bounded
   * by the chunk instead of the prompt. `trace` then reports each chunk separately.
   */
  prefillChunk?: number;
  trace?: TraceFn;
}

/** How a model's cache stores its sliding-window layers. */
export interface CacheOptions {
  /**
   * "rotating" (default): a ring holding only the window, so memory stops growing at the window.
   * "full": every position, hidden by the mask — the reference the ring is tested against, and
   * the choice when a cache must be truncated further back than its window.
   */
  windowed?: "rotating" | "full";
}

export interface CausalLM {
  readonly config: ModelConfig;
  createCache(options?: CacheOptions): KVCache;
  /**
   * Runs `tokens` at positions startPos.. startPos+n-1, appending their keys/values to `cache`
   * (whose length must equal startPos). Returns logits (nOut, vocabSize) row-major, where nOut is
   * 1 for logits "last" and tokens.length for "all".
   */
  forward(tokens: ArrayLike<number>, startPos: number, cache: KVCache, options?: ForwardOptions): Promise<Float32Array>;
  /** Releases workers or file handles, if any. */
  dispose?(): void;
}
