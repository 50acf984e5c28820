/**
 * SentencePiece-style BPE by scores, as llama.cpp runs `tokenizer.ggml.model = "llama"` GGUF
 * vocabularies (which carry pieces and scores but no merge list): repeatedly merge the adjacent
 * pair whose concatenation is a piece with the highest score (leftmost on ties; control pieces
 * never form from text, as in Hugging Face's files); characters
 * with no piece fall back to `<0xXX>` byte pieces, else the unknown piece.
 */
import type { WordModel } from "./bpe.js";
import { forEachChunk, METASPACE, metaspaceBlockers } from "./chunks.js";
import { utf8Encode } from "./unicode.js";
import { WordCache } from "./word-cache.js";

/** GGUF token types (llama.cpp's llama_token_type). */
export const enum TokenType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

const CACHE_LIMIT = 65_536;
const CACHEABLE_LENGTH = 64;
const POS_SCALE = 4294967296;

export interface SpmConfig {
  tokens: readonly string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  unkId: number | undefined;
}

export class SpmModel implements WordModel {
  /** Mergeable pieces (normal and user-defined) → dense rank of their score, best first. */
  private readonly mergeRank = new Map<string, number>();
  /** Any non-control piece → id, for the final lookup of each symbol. */
  private readonly pieceId = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly unkId: number;
  private readonly chunkBlockers: Set<number> | undefined;
  private readonly cache = new WordCache(CACHE_LIMIT);

  constructor(config: SpmConfig) {
    const { tokens, scores, types } = config;
    this.unkId = config.unkId ?? -1;
    const normal: number[] = [];
    tokens.forEach((token, id) => {
      const type = types[id] ?? TokenType.Normal;
      if (type === TokenType.Byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
        if (m) this.byteIds[parseInt(m[1]!, 16)] = id;
        return;
      }
      if (type === TokenType.Control) return;
      if (!this.pieceId.has(token)) this.pieceId.set(token, id);
      if (type === TokenType.Normal || type === TokenType.UserDefined) normal.push(id);
    });
    // Dense ranks: equal scores share a rank so ties fall to the leftmost pair, as in llama.cpp.
    normal.sort((a, b) => scores[b]! - scores[a]!);
    let rank = -1;
    let previous = NaN;
    for (const id of normal) {
      if (scores[id] !== previous) {
        rank++;
        previous = scores[id]!;
      }
      if (!this.mergeRank.has(tokens[id]!)) this.mergeRank.set(tokens[id]!, rank);
    }
    if (this.pieceId.has(METASPACE)) this.chunkBlockers = metaspaceBlockers(this.mergeRank.keys());
  }

  encodeByteLevelWord(text: string, start: number, end: number, out: number[]): void {
    this.encodeWord(text, start, end, out);
  }

  /** Long words are cut before "▁" where no piece joins across (see chunks.ts). */
  encodeWord(text: string, start: number, end: number, out: number[]): void {
    if (end <= start) return;
    if (this.chunkBlockers === undefined || end - start <= CACHEABLE_LENGTH) this.encodeChunk(text, start, end, out);
    else forEachChunk(text, start, end, this.chunkBlockers, (from, to) => this.encodeChunk(text, from, to, out));
  }

  private encodeChunk(text: string, start: number, end: number, out: number[]): void {
    const cacheable = end - start <= CACHEABLE_LENGTH;
    if (cacheable) {
      const cached = this.cache.get(text, start, end);
      if (cached !== undefined) {
        if (typeof cached === "number") out.push(cached);
        else for (let i = 0; i < cached.length; i++) out.push(cached[i]!);
        return;
      }
    }
    const ids = this.tokenizeChunk(text.slice(start, end));
    for (const id of ids) out.push(id);
    if (cacheable) this.cache.insert(text, start, end, ids.length === 1 ? ids[0]! : Int32Array.from(ids));
  }

  private tokenizeChunk(text: string): number[] {
    // Symbols are code points: [start[i], end[i]) in text, linked by next/prev.
    const n = text.length;
    const start = new Int32Array(n);
    const end = new Int32Array(n);
    let count = 0;
    for (let i = 0; i < n; ) {
      const c = text.charCodeAt(i);
      const width = c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      start[count] = i;
      end[count] = i + width;
      count++;
      i += width;
    }
    const next = new Int32Array(count);
    const prev = new Int32Array(count);
    const alive = new Uint8Array(count).fill(1);
    for (let i = 0; i < count; i++) {
      next[i] = i + 1 < count ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap: number[] = [];
    const push = (left: number, right: number) => {
      const rank = this.mergeRank.get(text.slice(start[left]!, end[right]!));
      if (rank !== undefined) heapPush(heap, rank * POS_SCALE + left);
    };
    for (let i = 0; i + 1 < count; i++) push(i, i + 1);
    while (heap.length > 0) {
      const key = heapPop(heap);
      const rank = Math.floor(key / POS_SCALE);
      const left = key - rank * POS_SCALE;
      const right = next[left]!;
      if (!alive[left] || right < 0) continue;
      if (this.mergeRank.get(text.slice(start[left]!, end[right]!)) !== rank) continue; // stale
      end[left] = end[right]!;
      alive[right] = 0;
      next[left] = next[right]!;
      if (next[left]! >= 0) prev[next[left]!] = left;
      if (prev[left]! >= 0) push(prev[left]!, left);
      if (next[left]! >= 0) push(left, next[left]!);
    }
    const ids: number[] = [];
    for (let i = 0; i >= 0 && i < count; i = next[i]!) {
      const piece = text.slice(start[i]!, end[i]!);
      const id = this.pieceId.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      const bytes = utf8Encode(piece);
      if (bytes.every((b) => this.byteIds[b]! >= 0)) for (const b of bytes) ids.push(this.byteIds[b]!);
      else if (this.unkId >= 0) ids.push(this.unkId);
    }
    return ids;
  }
}

function heapPush(heap: number[], key: number): void {
  let i = heap.length;
  heap.push(key);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= key) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = key;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  const n = heap.length;
  while (true) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap[child + 1]! < heap[child]!) child++;
    if (heap[child]! >= last) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
