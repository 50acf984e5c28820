/** The fast BPE merge loop (flat scan and heap paths) against a slow, obvious twin. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeSymbols } from "../../src/tokenizers/merge.js";
import { PairTable } from "../../src/tokenizers/pair-table.js";
import { WordCache } from "../../src/tokenizers/word-cache.js";
import { rng } from "./corpus.js";

/** Merge the lowest-ranked adjacent pair, leftmost first, until none merges. */
function slowMerge(symbols: number[], merges: Map<string, [number, number]>): number[] {
  const out = [...symbols];
  while (true) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < out.length; i++) {
      const merge = merges.get(`${out[i]},${out[i + 1]}`);
      if (merge && merge[0] < bestRank) {
        bestRank = merge[0];
        best = i;
      }
    }
    if (best < 0) return out;
    out.splice(best, 2, merges.get(`${out[best]},${out[best + 1]}`)![1]);
  }
}

test("mergeSymbols equals the slow twin on random merge tables and words", () => {
  const next = rng(2024);
  for (let table = 0; table < 40; table++) {
    const alphabet = 2 + Math.floor(next() * 5);
    let vocab = alphabet;
    const merges = new Map<string, [number, number]>();
    const pairs = new PairTable(64);
    const count = 5 + Math.floor(next() * 40);
    for (let rank = 0; rank < count; rank++) {
      const a = Math.floor(next() * vocab);
      const b = Math.floor(next() * vocab);
      const merged = vocab++;
      merges.set(`${a},${b}`, [rank, merged]); // a repeated pair keeps its last rank, like HF
      pairs.set(a, b, rank, merged);
    }
    for (let word = 0; word < 60; word++) {
      const length = Math.floor(next() * (next() < 0.3 ? 300 : 40));
      const symbols = Array.from({ length }, () => Math.floor(next() * alphabet));
      const ids = Int32Array.from(symbols);
      const n = mergeSymbols(ids, ids.length, pairs);
      assert.deepEqual([...ids.subarray(0, n)], slowMerge(symbols, merges), `table ${table}, word ${symbols.join(",")}`);
    }
  }
});

test("the word cache finds ranges of other strings and stays bounded", () => {
  const cache = new WordCache(4);
  const text = "the cat the hat";
  assert.equal(cache.get(text, 0, 3), undefined);
  cache.insert(text, 0, 3, 7);
  assert.equal(cache.get(text, 8, 11), 7);
  assert.equal(cache.get("the", 0, 3), 7);
  assert.equal(cache.get(text, 4, 7), undefined);
  for (let i = 0; i < 10; i++) {
    const word = `w${i}`;
    if (cache.get(word, 0, word.length) === undefined) cache.insert(word, 0, word.length, Int32Array.of(i, i));
  }
  assert.ok(cache.size <= 4);
  assert.deepEqual(cache.get("w9", 0, 2), Int32Array.of(9, 9));
});
