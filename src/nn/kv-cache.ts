import { LoomError } from "../errors.js";
import type { AttentionSpan } from "./attention-mask.js";
import { HEAP_MEMORY, ownedFloats, releaseAll, releaseOwned, type FloatMemory } from "./float-memory.js";

const CHUNK = 256;

/**
 * Keys and values of every layer as f32, position-major: per layer (nCtx, kvDim) with
 * kvDim = nKVHeads·headDim, so the rows a forward call appends are contiguous and a K/V
 * projection can write straight into them. Room grows in chunks (at least doubling), up to
 * `maxLength`. It satisfies the KVCache contract of src/models/types.ts structurally (nn does
 * not import from models).
 */
export class DenseKVCache {
  private keyData: Float32Array[];
  private valueData: Float32Array[];
  private capacity = 0;
  private stored = 0;

  constructor(
    readonly nLayers: number, readonly kvDim: number, readonly maxLength: number,
    /** Where keys and values live (a WebAssembly runtime's memory, so its attention reads them in place). */
    readonly memory: FloatMemory = HEAP_MEMORY,
  ) {
    this.keyData = Array.from({ length: nLayers }, () => new Float32Array(0));
    this.valueData = Array.from({ length: nLayers }, () => new Float32Array(0));
  }

  get length(): number { return this.stored; }

  /** Room (in positions) currently allocated per layer. */
  get allocated(): number { return this.capacity; }

  /** Keys of one layer, (nCtx, kvDim); rows ≥ length are scratch. Re-fetch after reserve(). */
  keys(layer: number): Float32Array { return this.keyData[layer]; }
  values(layer: number): Float32Array { return this.valueData[layer]; }

  /** Makes room for `length` positions in every layer. */
  reserve(length: number): void {
    if (length > this.maxLength) {
      throw new LoomError(`context too long: ${length} positions requested, the cache holds at most ${this.maxLength}`);
    }
    if (length <= this.capacity) return;
    const grown = Math.min(this.maxLength, Math.ceil(Math.max(length, this.capacity * 2) / CHUNK) * CHUNK);
    this.resize(grown);
  }

  /** Copies this call's rows k, v (n, kvDim) for positions startPos.. into `layer` (reserve first). */
  write(layer: number, startPos: number, k: Float32Array, v: Float32Array, n: number): void {
    const d = this.kvDim;
    if (layer < 0 || layer >= this.nLayers || !Number.isInteger(layer)) {
      throw new LoomError(`DenseKVCache.write: layer ${layer} out of range (0..${this.nLayers - 1})`);
    }
    if (startPos + n > this.capacity || k.length < n * d || v.length < n * d) {
      throw new LoomError(`DenseKVCache.write: ${n} rows at ${startPos} do not fit (room for ${this.capacity}; k ${k.length}, v ${v.length} floats)`);
    }
    this.keyData[layer].set(k.subarray(0, n * d), startPos * d);
    this.valueData[layer].set(v.subarray(0, n * d), startPos * d);
  }

  /** What the attention kernel needs to read this cache: every position is in its own row. */
  span(startPos: number, nQ: number): AttentionSpan {
    return { startPos, nQ };
  }

  /** Bytes of keys and values currently allocated. */
  get byteLength(): number {
    return 2 * this.nLayers * this.capacity * this.kvDim * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Records that positions [length, newLength) of every layer now hold keys and values. */
  commit(newLength: number): void {
    if (newLength < this.stored || newLength > this.capacity) {
      throw new LoomError(`cannot commit ${newLength} positions (stored ${this.stored}, room for ${this.capacity})`);
    }
    this.stored = newLength;
  }

  clone(): DenseKVCache {
    const copy = new DenseKVCache(this.nLayers, this.kvDim, this.maxLength, this.memory);
    copy.reserve(this.stored);
    const used = this.stored * this.kvDim;
    for (let l = 0; l < this.nLayers; l++) {
      copy.keyData[l].set(this.keyData[l].subarray(0, used));
      copy.valueData[l].set(this.valueData[l].subarray(0, used));
    }
    copy.stored = this.stored;
    return copy;
  }

  /** Hands the keys and values back to their memory; the cache is empty and unusable after. */
  release(): void {
    releaseAll(this.memory, this.keyData);
    releaseAll(this.memory, this.valueData);
    this.capacity = 0;
    this.stored = 0;
  }

  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0) throw new LoomError(`cannot truncate a KV cache to ${length}`);
    this.stored = Math.min(this.stored, length);
  }

  private resize(capacity: number): void {
    const used = this.stored * this.kvDim;
    for (let l = 0; l < this.nLayers; l++) {
      const k = ownedFloats(this.memory, this, capacity * this.kvDim);
      const v = ownedFloats(this.memory, this, capacity * this.kvDim);
      k.set(this.keyData[l].subarray(0, used));
      v.set(this.valueData[l].subarray(0, used));
      releaseOwned(this.memory, this.keyData[l]);
      releaseOwned(this.memory, this.valueData[l]);
      this.keyData[l] = k;
      this.valueData[l] = v;
    }
    this.capacity = capacity;
  }
}
