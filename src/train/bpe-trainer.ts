import { LoomError } from "../errors.js";
import { BYTE_TO_CHAR, pretokenize } from "./byte-level.js";
import type { BpeVocab } from "./bpe.js";

export interface BpeTrainOptions {
  /** Total vocabulary: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** Added after the merged tokens, e.g. ["<|endoftext|>"]. */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
}

/**
 * Learns byte-level BPE merges from text, GPT-2 style: the 256 byte tokens first (id = byte
 * value), then one token per merge, then the special tokens. Each step merges the most frequent
 * adjacent pair (ties: the pair of smaller ids), counting pairs only inside GPT-2 pre-tokens.
 *
 * Pair counts are kept up to date incrementally: each merge revisits only the distinct words
 * that contain the pair, found through a pair → words index, and a max-heap with lazy deletion
 * finds the next best pair.
 */
export function trainBpe(texts: Iterable<string>, options: BpeTrainOptions): BpeVocab {
  const specials = options.specialTokens ?? [];
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 256 + specials.length) {
    throw new LoomError(`BPE: vocabSize ${options.vocabSize} must be an integer of at least 256 + ${specials.length} special tokens`);
  }
  if (options.vocabSize > 65536) throw new LoomError(`BPE: vocabSize ${options.vocabSize} is over the trainer's 65536`);

  // Distinct pre-tokens and how often each occurs.
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of pretokenize(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  const byteId = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, n] of counts) {
    words.push(Array.from(piece, (ch) => byteId.get(ch)!));
    freqs.push(n);
  }

  const tokens = [...BYTE_TO_CHAR];
  const tokenIds = new Map(tokens.map((t, i) => [t, i]));
  const merges: [string, string][] = [];
  const key = (a: number, b: number): number => a * 65536 + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();

  const addPairs = (w: number, sign: number, changed: Set<number>): void => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const k = key(word[i], word[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freqs[w]);
      changed.add(k);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  const initial = new Set<number>();
  for (let w = 0; w < words.length; w++) addPairs(w, 1, initial);
  for (const k of initial) heap.push(pairCount.get(k)!, k);

  const target = options.vocabSize - specials.length;
  while (tokens.length < target) {
    const best = heap.popValid(pairCount);
    if (!best || best.count < minFrequency) break;
    const a = Math.floor(best.key / 65536);
    const b = best.key % 65536;
    const mergedText = tokens[a] + tokens[b];
    let merged = tokenIds.get(mergedText);
    if (merged === undefined) {
      merged = tokens.length;
      tokens.push(mergedText);
      tokenIds.set(mergedText, merged);
    }
    merges.push([tokens[a], tokens[b]]);
    const changed = new Set<number>();
    for (const w of pairWords.get(best.key) ?? []) {
      const word = words[w];
      let has = false;
      for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) has = true;
      if (!has) continue;
      addPairs(w, -1, changed);
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(merged);
          i++;
        } else {
          next.push(word[i]);
        }
      }
      words[w] = next;
      addPairs(w, 1, changed);
    }
    pairWords.delete(best.key);
    pairCount.delete(best.key);
    changed.delete(best.key);
    for (const k of changed) {
      const n = pairCount.get(k)!;
      if (n > 0) heap.push(n, k);
      else pairCount.delete(k);
    }
  }

  const specialIds = new Map<string, number>();
  for (const s of specials) {
    if (tokenIds.has(s)) throw new LoomError(`BPE: special token '${s}' collides with a learned token`);
    specialIds.set(s, tokens.length);
    tokens.push(s);
  }
  return { tokens, merges, specials: specialIds };
}

/** A binary max-heap of (count, pair key); ties pop the smaller key first. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Pops entries until one still matches the live count (older entries are stale). */
  popValid(live: Map<number, number>): { count: number; key: number } | undefined {
    while (this.counts.length > 0) {
      const count = this.counts[0];
      const key = this.keys[0];
      this.removeTop();
      if (live.get(key) === count) return { count, key };
    }
    return undefined;
  }

  private removeTop(): void {
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length === 0) return;
    this.counts[0] = lastCount;
    this.keys[0] = lastKey;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < this.counts.length && this.before(l, top)) top = l;
      if (r < this.counts.length && this.before(r, top)) top = r;
      if (top === i) return;
      this.swap(i, top);
      i = top;
    }
  }

  private before(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
}
