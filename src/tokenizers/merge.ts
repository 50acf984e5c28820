/**
 * The BPE merge loop: repeatedly merge the adjacent pair with the smallest rank, leftmost first,
 * until no pair merges. Short words use a flat scan over cached pair ranks; long ones a binary heap
 * with lazy deletion over a linked list (the Rust crate's `Word::merge_all`), O(n log n).
 */
import type { PairTable } from "./pair-table.js";

const NO_MERGE = 0x7fffffff;
const SHORT_WORD = 48;
const POS_SCALE = 4294967296; // heap key = rank * 2^32 + position, exact in a double

const pairRanks = new Int32Array(SHORT_WORD);
const pairSlots = new Int32Array(SHORT_WORD);

/** Merges `ids[0..n)` in place and returns the new length. */
export function mergeSymbols(ids: Int32Array, n: number, table: PairTable): number {
  if (n < 2) return n;
  return n <= SHORT_WORD ? mergeShort(ids, n, table) : mergeLong(ids, n, table);
}

function mergeShort(ids: Int32Array, n: number, table: PairTable): number {
  const ranks = pairRanks;
  const slots = pairSlots;
  for (let i = 0; i + 1 < n; i++) {
    const slot = table.find(ids[i]!, ids[i + 1]!);
    slots[i] = slot;
    ranks[i] = slot < 0 ? NO_MERGE : table.rankAt(slot);
  }
  while (n > 1) {
    let best = -1;
    let bestRank = NO_MERGE;
    for (let i = 0; i + 1 < n; i++) {
      if (ranks[i]! < bestRank) {
        bestRank = ranks[i]!;
        best = i;
      }
    }
    if (best < 0) break;
    ids[best] = table.mergedAt(slots[best]!);
    // Drop symbol best+1 and pair best+1 (which started at it).
    for (let i = best + 1; i + 1 < n; i++) {
      ids[i] = ids[i + 1]!;
      ranks[i] = ranks[i + 1]!;
      slots[i] = slots[i + 1]!;
    }
    n--;
    if (best > 0) rerank(ids, best - 1, table);
    if (best + 1 < n) rerank(ids, best, table);
  }
  return n;
}

function rerank(ids: Int32Array, i: number, table: PairTable): void {
  const slot = table.find(ids[i]!, ids[i + 1]!);
  pairSlots[i] = slot;
  pairRanks[i] = slot < 0 ? NO_MERGE : table.rankAt(slot);
}

/** A binary min-heap of doubles that grows as needed. */
class KeyHeap {
  private keys = new Float64Array(64);
  size = 0;

  push(key: number): void {
    if (this.size === this.keys.length) {
      const bigger = new Float64Array(this.keys.length * 2);
      bigger.set(this.keys);
      this.keys = bigger;
    }
    const keys = this.keys;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      i = parent;
    }
    keys[i] = key;
  }

  pop(): number {
    const keys = this.keys;
    const top = keys[0]!;
    const last = keys[--this.size]!;
    let i = 0;
    const n = this.size;
    while (true) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1]! < keys[child]!) child++;
      if (keys[child]! >= last) break;
      keys[i] = keys[child]!;
      i = child;
    }
    keys[i] = last;
    return top;
  }
}

function mergeLong(ids: Int32Array, n: number, table: PairTable): number {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const heap = new KeyHeap();
  const pushPair = (pos: number, right: number) => {
    const slot = table.find(ids[pos]!, ids[right]!);
    if (slot >= 0) heap.push(table.rankAt(slot) * POS_SCALE + pos);
  };
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  for (let i = 0; i + 1 < n; i++) pushPair(i, i + 1);
  while (heap.size > 0) {
    const key = heap.pop();
    const rank = Math.floor(key / POS_SCALE);
    const pos = key - rank * POS_SCALE;
    const right = next[pos]!;
    if (ids[pos]! < 0 || right < 0) continue;
    const slot = table.find(ids[pos]!, ids[right]!);
    if (slot < 0 || table.rankAt(slot) !== rank) continue; // stale entry
    ids[pos] = table.mergedAt(slot);
    ids[right] = -1;
    const after = next[right]!;
    next[pos] = after;
    if (after >= 0) prev[after] = pos;
    if (prev[pos]! >= 0) pushPair(prev[pos]!, pos);
    if (after >= 0) pushPair(pos, after);
  }
  let count = 0;
  for (let i = 0; i >= 0; i = next[i]!) ids[count++] = ids[i]!;
  return count;
}
