/**
 * A bounded cache from words to their token ids, looked up by a range of a larger string so a
 * cache hit allocates nothing (a Map<string> would need a substring and V8's hash of it per word).
 * When full it starts over, which keeps memory bounded on endless unique input.
 */
export type CacheEntry = number | Int32Array;

const EMPTY = -1;

export class WordCache {
  private slots: Int32Array;
  private mask: number;
  private keys: string[] = [];
  private hashes: number[] = [];
  private values: CacheEntry[] = [];
  /** Hash and slot of the last failed lookup, reused by the insert that usually follows it. */
  private missHash = 0;
  private missSlot = -1;
  private missText = "";
  private missStart = -1;
  private missEnd = -1;

  constructor(private readonly capacity = 65536) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The entry for text[start, end), or undefined (then `insert` may follow for the same range). */
  get(text: string, start: number, end: number): CacheEntry | undefined {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    const length = end - start;
    let slot = h & this.mask;
    while (true) {
      const index = this.slots[slot]!;
      if (index === EMPTY) break;
      if (this.hashes[index] === h) {
        const key = this.keys[index]!;
        if (key.length === length && text.startsWith(key, start)) return this.values[index];
      }
      slot = (slot + 1) & this.mask;
    }
    this.missHash = h;
    this.missSlot = slot;
    this.missText = text;
    this.missStart = start;
    this.missEnd = end;
    return undefined;
  }

  /** Stores the entry for the range whose `get` just missed. */
  insert(text: string, start: number, end: number, value: CacheEntry): void {
    if (this.keys.length >= this.capacity) this.clear();
    if (this.missSlot < 0 || this.missStart !== start || this.missEnd !== end || this.missText !== text) {
      if (this.get(text, start, end) !== undefined) return;
    }
    this.slots[this.missSlot] = this.keys.length;
    this.keys.push(start === 0 && end === text.length ? text : text.slice(start, end));
    this.hashes.push(this.missHash);
    this.values.push(value);
    this.missSlot = -1;
    this.missText = "";
  }

  clear(): void {
    this.slots.fill(EMPTY);
    this.keys = [];
    this.hashes = [];
    this.values = [];
    this.missSlot = -1;
  }
}
