/**
 * An open-addressing hash table from a pair of token ids to (rank, merged id), stored in typed
 * arrays: far faster and smaller than a Map keyed by strings, and exact for any vocabulary size.
 */
export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly ranks: Int32Array;
  private readonly merged: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.left = new Int32Array(slots).fill(-1);
    this.right = new Int32Array(slots);
    this.ranks = new Int32Array(slots);
    this.merged = new Int32Array(slots);
    this.mask = slots - 1;
  }

  private slotOf(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h ^= h >>> 15;
    let slot = h & this.mask;
    while (true) {
      const l = this.left[slot]!;
      if (l === -1 || (l === a && this.right[slot] === b)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Sets (or overwrites: the last duplicate merge wins, as in HF) the entry for (a, b). */
  set(a: number, b: number, rank: number, mergedId: number): void {
    const slot = this.slotOf(a, b);
    if (this.left[slot] === -1) this.size++;
    this.left[slot] = a;
    this.right[slot] = b;
    this.ranks[slot] = rank;
    this.merged[slot] = mergedId;
  }

  /** The slot of (a, b), or -1 when the pair never merges. */
  find(a: number, b: number): number {
    const slot = this.slotOf(a, b);
    return this.left[slot] === -1 ? -1 : slot;
  }

  rankAt(slot: number): number {
    return this.ranks[slot]!;
  }

  mergedAt(slot: number): number {
    return this.merged[slot]!;
  }
}
