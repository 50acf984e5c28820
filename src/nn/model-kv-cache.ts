/**
 * A model's KV cache: one store per layer, chosen by the layer's attention window.
 *
 *  - Global layers (no window) keep every position in a DenseKVCache (row p = position p).
 *  - Sliding-window layers keep only their window in a RotatingKVCache ring, so their memory is
 *    bounded by the window whatever the sequence length ("rotating", the default), or keep every
 *    position like a global layer and let the mask hide the old ones ("full": the oracle that the
 *    ring must equal, and the choice when positions must stay truncatable).
 *
 * Masks come from the cache (`span`): it tells the attention kernel each layer's window and ring,
 * so prefill, decode and chunked prefill are the same call and cannot disagree. The call sequence
 * per forward is reserve(startPos + n); per layer write(…) then read keys/values/span; commit.
 * It satisfies the KVCache contract of src/models/types.ts structurally.
 */
import { LoomError } from "../errors.js";
import type { AttentionSpan } from "./attention-mask.js";
import { HEAP_MEMORY, type FloatMemory } from "./float-memory.js";
import { DenseKVCache } from "./kv-cache.js";
import { RotatingKVCache } from "./rotating-kv-cache.js";

export type WindowedLayerStorage = "rotating" | "full";

export interface ModelKVCacheOptions {
  /** How sliding-window layers store keys: a ring bounded by the window (default) or every position. */
  windowed?: WindowedLayerStorage;
  /** Positions one forward call may append without a ring growing (the prefill chunk). */
  headroom?: number;
  /** Where keys and values live (default: ordinary arrays; a WebAssembly model passes its runtime's memory). */
  memory?: FloatMemory;
}

type Store = DenseKVCache | RotatingKVCache;

interface LayerSlot {
  store: Store;
  /** The layer's index inside its store. */
  index: number;
  window?: number;
}

export class ModelKVCache {
  private stores: Store[];
  private layers: LayerSlot[];
  private stored = 0;
  readonly windowed: WindowedLayerStorage;
  readonly headroom: number;
  readonly memory: FloatMemory;

  /** `windows[l]` is layer l's sliding window, or undefined for a global layer. */
  constructor(
    readonly windows: readonly (number | undefined)[], readonly kvDim: number, readonly maxLength: number,
    options: ModelKVCacheOptions = {},
  ) {
    if (windows.length === 0) throw new LoomError("ModelKVCache: a model needs at least one layer");
    for (const w of windows) {
      if (w !== undefined && !(Number.isInteger(w) && w > 0)) throw new LoomError(`ModelKVCache: window ${w} must be a positive integer`);
    }
    this.windowed = options.windowed ?? "rotating";
    this.headroom = options.headroom ?? 256;
    this.memory = options.memory ?? HEAP_MEMORY;
    // A window at least as long as the context never hides anything: such layers are global.
    const ringWindow = (w: number | undefined) =>
      w !== undefined && w < maxLength && this.windowed === "rotating" ? w : undefined;

    const denseLayers = windows.map((w, l) => (ringWindow(w) === undefined ? l : -1)).filter((l) => l >= 0);
    const ringWindows = [...new Set(windows.map(ringWindow).filter((w): w is number => w !== undefined))];
    this.stores = [];
    this.layers = new Array<LayerSlot>(windows.length);
    if (denseLayers.length > 0) {
      const dense = new DenseKVCache(denseLayers.length, kvDim, maxLength, this.memory);
      this.stores.push(dense);
      denseLayers.forEach((l, index) => { this.layers[l] = { store: dense, index, window: clip(windows[l], maxLength) }; });
    }
    for (const w of ringWindows) {
      const members = windows.map((x, l) => (ringWindow(x) === w ? l : -1)).filter((l) => l >= 0);
      const ring = new RotatingKVCache(members.length, kvDim, w, { headroom: this.headroom, memory: this.memory });
      this.stores.push(ring);
      members.forEach((l, index) => { this.layers[l] = { store: ring, index, window: w }; });
    }
  }

  get nLayers(): number { return this.layers.length; }

  /** Positions seen so far. */
  get length(): number { return this.stored; }

  /** Bytes of keys and values currently allocated, over all layers. */
  get byteLength(): number {
    return this.stores.reduce((sum, s) => sum + s.byteLength, 0);
  }

  /** Makes room to append positions [length, newLength) in every layer. */
  reserve(newLength: number): void {
    if (newLength > this.maxLength) {
      throw new LoomError(`context too long: ${newLength} positions requested, the cache holds at most ${this.maxLength}`);
    }
    for (const s of this.stores) s.reserve(newLength);
  }

  /** Stores this call's keys and values k, v (n, kvDim) of `layer` for positions startPos... */
  write(layer: number, startPos: number, k: Float32Array, v: Float32Array, n: number): void {
    const slot = this.slot(layer);
    slot.store.write(slot.index, startPos, k, v, n);
  }

  /** Keys of one layer as its store lays them out (see span); re-fetch after reserve(). */
  keys(layer: number): Float32Array {
    const slot = this.slot(layer);
    return slot.store.keys(slot.index);
  }

  values(layer: number): Float32Array {
    const slot = this.slot(layer);
    return slot.store.values(slot.index);
  }

  /** The mask and layout for queries at startPos..startPos+nQ−1 of `layer`. */
  span(layer: number, startPos: number, nQ: number): AttentionSpan {
    const slot = this.slot(layer);
    if (slot.store instanceof RotatingKVCache) return slot.store.span(startPos, nQ);
    return { ...slot.store.span(startPos, nQ), window: slot.window };
  }

  /** Records that positions [length, newLength) of every layer now hold keys and values. */
  commit(newLength: number): void {
    for (const s of this.stores) s.commit(newLength);
    this.stored = newLength;
  }

  clone(): ModelKVCache {
    const copy = new ModelKVCache(this.windows, this.kvDim, this.maxLength, { windowed: this.windowed, headroom: this.headroom, memory: this.memory });
    copy.stores = this.stores.map((s) => s.clone());
    const twin = new Map<Store, Store>(this.stores.map((s, i) => [s, copy.stores[i]]));
    copy.layers = this.layers.map((slot) => ({ ...slot, store: twin.get(slot.store)! }));
    copy.stored = this.stored;
    return copy;
  }

  /** Hands every layer's keys and values back to their memory (see KVCache.release). */
  release(): void {
    for (const s of this.stores) s.release();
    this.stored = 0;
  }

  /**
   * Forgets every position at or after `length`. A ring can only go back as far as it still holds
   * the window before `length`; checked for every layer before anything changes.
   */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0) throw new LoomError(`cannot truncate a KV cache to ${length}`);
    if (length >= this.stored) return;
    for (const s of this.stores) {
      if (!(s instanceof RotatingKVCache) || length === 0) continue;
      const firstNeeded = Math.max(0, length - s.window + 1);
      if (firstNeeded < s.oldestHeld) {
        throw new LoomError(`cannot truncate the KV cache from ${this.stored} to ${length} positions: a sliding-window layer `
          + `(window ${s.window}) no longer holds position ${firstNeeded}; create the cache with { windowed: "full" } to keep it`);
      }
    }
    for (const s of this.stores) s.truncate(length);
    this.stored = length;
  }

  private slot(layer: number): LayerSlot {
    const slot = this.layers[layer];
    if (slot === undefined) throw new LoomError(`KV cache: layer ${layer} out of range (0..${this.layers.length - 1})`);
    return slot;
  }
}

/** A window of at least maxLength masks nothing; keep it only when it can bind. */
function clip(window: number | undefined, maxLength: number): number | undefined {
  return window !== undefined && window < maxLength ? window : undefined;
}
