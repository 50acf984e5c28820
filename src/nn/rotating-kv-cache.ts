import { LoomError } from "../errors.js";
import type { AttentionSpan } from "./attention-mask.js";
import { HEAP_MEMORY, ownedFloats, releaseAll, releaseOwned, type FloatMemory } from "./float-memory.js";

const MIN_SLOTS = 16;

export interface RotatingKVCacheOptions {
  /**
   * Positions one forward call may add beyond the window without the ring growing (the prefill
   * chunk size). A longer call still works: the ring grows to window − 1 + its length.
   */
  headroom?: number;
  /** Where keys and values live (default: ordinary arrays). */
  memory?: FloatMemory;
}

/**
 * Keys and values of sliding-window layers in a ring buffer whose memory is bounded by the window:
 * position p lives in row p mod slots of each layer's (slots, kvDim) arrays. A call that appends n
 * positions at startPos needs the window − 1 keys before startPos and its own n at once, so the
 * ring holds window − 1 + n rows; older positions are overwritten, which is safe because no later
 * query can see them. Reads go through flashAttention with `ringSlots` (see `span`).
 *
 * The call sequence per forward mirrors DenseKVCache: reserve(startPos + n); per layer write(…) and
 * attend with span(startPos, n); then commit(startPos + n). It satisfies the KVCache contract of
 * src/models/types.ts structurally (nn does not import from models).
 */
export class RotatingKVCache {
  private keyData: Float32Array[];
  private valueData: Float32Array[];
  private slots = 0;
  private stored = 0;
  /** Length last reserved: writes may reach up to it. */
  private reserved = 0;
  /** Oldest position whose keys/values are still in the ring (earlier ones were overwritten). */
  private oldest = 0;
  readonly headroom: number;
  readonly memory: FloatMemory;

  constructor(
    readonly nLayers: number, readonly kvDim: number, readonly window: number, options: RotatingKVCacheOptions = {},
  ) {
    const positiveInt = (x: number) => Number.isInteger(x) && x > 0;
    if (!positiveInt(nLayers) || !positiveInt(kvDim) || !positiveInt(window)) {
      throw new LoomError(`RotatingKVCache: nLayers ${nLayers}, kvDim ${kvDim} and window ${window} must be positive integers`);
    }
    this.headroom = options.headroom ?? 256;
    this.memory = options.memory ?? HEAP_MEMORY;
    if (!positiveInt(this.headroom)) throw new LoomError(`RotatingKVCache: headroom must be a positive integer, got ${this.headroom}`);
    this.keyData = Array.from({ length: nLayers }, () => new Float32Array(0));
    this.valueData = Array.from({ length: nLayers }, () => new Float32Array(0));
  }

  /** Positions seen so far (not rows held). */
  get length(): number { return this.stored; }

  /** Rows the ring currently has per layer. */
  get ringSlots(): number { return this.slots; }

  /** Oldest position still held; truncating to before oldest + window − 1 is impossible. */
  get oldestHeld(): number { return this.oldest; }

  /** The ring of one layer, (ringSlots, kvDim). Re-fetch after reserve(). */
  keys(layer: number): Float32Array { return this.keyData[layer]; }
  values(layer: number): Float32Array { return this.valueData[layer]; }

  /** Row of the ring that holds position `pos`. */
  slotOf(pos: number): number { return pos % this.slots; }

  /** Makes room to append positions [length, newLength) while keeping the window before them. */
  reserve(newLength: number): void {
    if (!Number.isInteger(newLength) || newLength < this.stored) {
      throw new LoomError(`RotatingKVCache: cannot reserve ${newLength} positions, ${this.stored} are already stored`);
    }
    const n = newLength - this.stored;
    const needed = Math.min(newLength, this.window - 1 + n);
    if (needed > this.slots) {
      const bound = Math.max(needed, this.window - 1 + this.headroom);
      this.resize(Math.min(bound, Math.max(needed, 2 * this.slots, MIN_SLOTS)));
    }
    this.reserved = newLength;
    // Writing up to newLength overwrites everything older than newLength − slots.
    this.oldest = Math.max(this.oldest, newLength - this.slots);
  }

  /** Copies this call's rows k, v (n, kvDim) for positions startPos.. into their ring rows of `layer`. */
  write(layer: number, startPos: number, k: Float32Array, v: Float32Array, n: number): void {
    this.checkCall(startPos, n);
    const d = this.kvDim;
    if (k.length < n * d || v.length < n * d) {
      throw new LoomError(`RotatingKVCache.write: ${n} rows of ${d} floats needed, got k ${k.length}, v ${v.length}`);
    }
    const keys = this.keyData[layer], values = this.valueData[layer];
    if (keys === undefined) throw new LoomError(`RotatingKVCache.write: layer ${layer} out of range (0..${this.nLayers - 1})`);
    for (let t = 0; t < n; t++) {
      const row = this.slotOf(startPos + t) * d;
      keys.set(k.subarray(t * d, (t + 1) * d), row);
      values.set(v.subarray(t * d, (t + 1) * d), row);
    }
  }

  /** What the attention kernel needs to read this cache for queries at startPos..startPos+nQ−1. */
  span(startPos: number, nQ: number): AttentionSpan {
    this.checkCall(startPos, nQ);
    return { startPos, nQ, window: this.window, ringSlots: this.slots };
  }

  /** Bytes of keys and values currently allocated (bounded by the window plus the headroom). */
  get byteLength(): number {
    return 2 * this.nLayers * this.slots * this.kvDim * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Records that positions [length, newLength) of every layer now hold keys and values. */
  commit(newLength: number): void {
    if (!Number.isInteger(newLength) || newLength < this.stored || newLength > this.reserved) {
      throw new LoomError(`RotatingKVCache: cannot commit ${newLength} positions (stored ${this.stored}, reserved ${this.reserved})`);
    }
    this.stored = newLength;
  }

  clone(): RotatingKVCache {
    const copy = new RotatingKVCache(this.nLayers, this.kvDim, this.window, { headroom: this.headroom, memory: this.memory });
    const twin = (a: Float32Array) => {
      const b = ownedFloats(this.memory, copy, a.length);
      b.set(a);
      return b;
    };
    copy.keyData = this.keyData.map(twin);
    copy.valueData = this.valueData.map(twin);
    copy.slots = this.slots;
    copy.stored = this.stored;
    copy.reserved = this.reserved;
    copy.oldest = this.oldest;
    return copy;
  }

  /** Hands the ring back to its memory; the cache is empty and unusable after. */
  release(): void {
    releaseAll(this.memory, this.keyData);
    releaseAll(this.memory, this.valueData);
    this.slots = this.stored = this.reserved = this.oldest = 0;
  }

  /**
   * Forgets every position at or after `length`. Later queries at `length`.. need the window − 1
   * positions before it, so those must not have been overwritten yet.
   */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0) throw new LoomError(`cannot truncate a KV cache to ${length}`);
    if (length >= this.stored) return;
    if (length === 0) {
      this.stored = this.reserved = this.oldest = 0;
      return;
    }
    const firstNeeded = Math.max(0, length - this.window + 1);
    if (firstNeeded < this.oldest) {
      throw new LoomError(`cannot truncate a rotating KV cache (window ${this.window}, ${this.slots} slots) from ${this.stored} `
        + `to ${length} positions: position ${firstNeeded} is needed but everything before ${this.oldest} was overwritten`);
    }
    this.stored = this.reserved = length;
  }

  private checkCall(startPos: number, n: number): void {
    if (startPos !== this.stored || !Number.isInteger(n) || n < 1 || startPos + n > this.reserved) {
      throw new LoomError(`RotatingKVCache: a call at startPos ${startPos} with ${n} positions does not fit `
        + `(stored ${this.stored}, reserved ${this.reserved}); reserve(startPos + n) first`);
    }
  }

  /** Moves every held position to its row in a ring of `slots` rows. */
  private resize(slots: number): void {
    const d = this.kvDim;
    for (let l = 0; l < this.nLayers; l++) {
      const k = ownedFloats(this.memory, this, slots * d), v = ownedFloats(this.memory, this, slots * d);
      for (let p = this.oldest; p < this.stored; p++) {
        const from = (p % this.slots) * d, to = (p % slots) * d;
        k.set(this.keyData[l].subarray(from, from + d), to);
        v.set(this.valueData[l].subarray(from, from + d), to);
      }
      releaseOwned(this.memory, this.keyData[l]);
      releaseOwned(this.memory, this.valueData[l]);
      this.keyData[l] = k;
      this.valueData[l] = v;
    }
    this.slots = slots;
  }
}
