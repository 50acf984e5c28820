/**
 * The BPE model: a pre-token becomes initial symbols (characters, or GPT-2's byte-level bytes),
 * which are merged by rank. Unknown characters fall back to `<0xXX>` byte tokens or the unknown
 * token, as in the Rust crate. Results are cached per word.
 */
import { forEachChunk, METASPACE, metaspaceBlockers } from "./chunks.js";
import { fail } from "./json.js";
import { mergeSymbols } from "./merge.js";
import { PairTable } from "./pair-table.js";
import { BYTE_TO_UNICODE, utf8Encode, utf8EncodeInto } from "./unicode.js";
import { WordCache, type CacheEntry } from "./word-cache.js";

/** A merge as tokenizer files write it: "a b" (split at the first space after the first character) or [a, b]. */
export type MergeEntry = string | readonly [string, string];

export interface BpeConfig {
  vocab: Map<string, number>;
  /**
   * Merges by rank, as the file has them (split here one at a time, so a 50k-merge vocabulary
   * builds no array of pairs: that kept V8's heap, and the process's RSS, ~8 MB larger).
   */
  merges: ReadonlyArray<MergeEntry>;
  unkToken?: string;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  continuingSubwordPrefix?: string;
  endOfWordSuffix?: string;
  ignoreMerges?: boolean;
  /**
   * The parsed tokenizer.json vocabulary object, if any: property lookups on it are faster than
   * Map lookups when resolving hundreds of thousands of merges.
   */
  vocabObject?: Readonly<Record<string, unknown>>;
  /** For error messages. */
  where: string;
}

/** Encodes one pre-token, text[start, end), appending ids to `out`. */
export interface WordModel {
  encodeWord(text: string, start: number, end: number, out: number[]): void;
  /** Encodes a raw piece whose UTF-8 bytes are the symbols (the ByteLevel pre-tokenizer's output). */
  encodeByteLevelWord(text: string, start: number, end: number, out: number[]): void;
}

/** The left token of a merge entry; `where` names it when the entry is malformed. */
export function mergeLeft(entry: unknown, where: string): string {
  if (typeof entry === "string") {
    const space = entry.indexOf(" ", 1);
    if (space < 0) fail(where, `merge ${JSON.stringify(entry)} has no space between its two tokens`);
    return entry.slice(0, space);
  }
  if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === "string" && typeof entry[1] === "string") return entry[0];
  return fail(where, `expected "a b" or ["a", "b"], got ${JSON.stringify(entry)}`);
}

/** The right token of a merge entry mergeLeft has accepted. */
export function mergeRight(entry: MergeEntry): string {
  return typeof entry === "string" ? entry.slice(entry.indexOf(" ", 1) + 1) : entry[1];
}

const CACHE_LIMIT = 65_536;
const CACHEABLE_LENGTH = 64;

export class BpeModel implements WordModel {
  private readonly vocab: Map<string, number>;
  private readonly table: PairTable;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly ignoreMerges: boolean;
  /** Id of each single BMP character token (-1 if none); used when no prefix/suffix applies. */
  private readonly charIds: Int32Array;
  /** Id of `<0xXX>` for each byte, or -1; only with byte fallback. */
  private readonly fallbackIds: Int32Array | undefined;
  /** Id of GPT-2's byte-level character for each byte, or -1. */
  private readonly byteIds: Int32Array;
  private readonly byteLevelComplete: boolean;
  /** Characters a "▁" may merge onto (see chunks.ts); undefined disables chunking. */
  private readonly chunkBlockers: Set<number> | undefined;
  private readonly cache = new WordCache(CACHE_LIMIT);
  private symbols = new Int32Array(256);
  private bytes = new Uint8Array(768);

  constructor(config: BpeConfig) {
    const { vocab, where } = config;
    this.vocab = vocab;
    this.prefix = config.continuingSubwordPrefix ?? "";
    this.suffix = config.endOfWordSuffix ?? "";
    this.fuseUnk = config.fuseUnk ?? false;
    this.ignoreMerges = config.ignoreMerges ?? false;
    this.unkId = -1;
    if (config.unkToken !== undefined) {
      const id = vocab.get(config.unkToken);
      if (id === undefined) fail(`${where}.unk_token`, `${JSON.stringify(config.unkToken)} is not in the vocabulary`);
      this.unkId = id;
    }

    this.table = new PairTable(config.merges.length);
    const prefixLength = this.prefix.length;
    const object = config.vocabObject;
    // Inherited properties ("constructor"…) are never numbers, so the typeof test rejects them.
    const idOf = object
      ? (token: string) => {
          const id = object[token];
          return typeof id === "number" ? id : undefined;
        }
      : (token: string) => vocab.get(token);
    const merges = config.merges;
    for (let rank = 0; rank < merges.length; rank++) {
      const entry = merges[rank];
      const a = mergeLeft(entry, `${where}.merges[${rank}]`), b = mergeRight(entry);
      const left = idOf(a);
      const right = idOf(b);
      const mergedText = a + (prefixLength > 0 && b.startsWith(this.prefix) ? b.slice(prefixLength) : b);
      const merged = idOf(mergedText);
      if (left === undefined || right === undefined || merged === undefined) {
        const missing = left === undefined ? a : right === undefined ? b : mergedText;
        fail(`${where}.merges[${rank}]`, `token ${JSON.stringify(missing)} of merge ${JSON.stringify([a, b])} is not in the vocabulary`);
      }
      this.table.set(left, right, rank, merged);
    }

    this.charIds = new Int32Array(65536).fill(-1);
    for (const [token, id] of vocab) {
      if (token.length === 1) this.charIds[token.charCodeAt(0)] = id;
    }
    if (config.byteFallback) {
      this.fallbackIds = new Int32Array(256).fill(-1);
      for (let b = 0; b < 256; b++) {
        this.fallbackIds[b] = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`) ?? -1;
      }
    }
    this.byteIds = new Int32Array(256);
    for (let b = 0; b < 256; b++) this.byteIds[b] = vocab.get(BYTE_TO_UNICODE[b]!) ?? -1;
    this.byteLevelComplete = this.byteIds.every((id) => id >= 0) && this.prefix === "" && this.suffix === "";

    // Chunking needs "▁" as a plain character symbol (see chunks.ts).
    const chunkable = this.prefix === "" && this.suffix === "" && this.charIds[METASPACE.charCodeAt(0)]! >= 0;
    this.chunkBlockers = chunkable ? metaspaceBlockers(merges.map((m) => mergeLeft(m, where) + mergeRight(m))) : undefined;
  }

  encodeWord(text: string, start: number, end: number, out: number[]): void {
    if (end <= start) return;
    if (this.ignoreMerges) {
      const id = this.vocab.get(text.slice(start, end));
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    if (this.chunkBlockers === undefined || end - start <= CACHEABLE_LENGTH) this.encodeChunk(text, start, end, out);
    else forEachChunk(text, start, end, this.chunkBlockers, (from, to) => this.encodeChunk(text, from, to, out));
  }

  encodeByteLevelWord(text: string, start: number, end: number, out: number[]): void {
    if (end <= start) return;
    const cacheable = end - start <= CACHEABLE_LENGTH;
    if (cacheable) {
      const cached = this.cache.get(text, start, end);
      if (cached !== undefined) {
        pushEntry(cached, out);
        return;
      }
    }
    if (!this.byteLevelComplete) {
      const mapped = toByteLevelString(text.slice(start, end));
      this.encodeWord(mapped, 0, mapped.length, out);
      return;
    }
    if (this.bytes.length < (end - start) * 3) this.bytes = new Uint8Array((end - start) * 3);
    const n = utf8EncodeInto(text, start, end, this.bytes);
    if (this.ignoreMerges) {
      let mapped = "";
      for (let i = 0; i < n; i++) mapped += BYTE_TO_UNICODE[this.bytes[i]!];
      const id = this.vocab.get(mapped);
      if (id !== undefined) {
        if (cacheable) this.cache.insert(text, start, end, id);
        out.push(id);
        return;
      }
    }
    const ids = this.scratch(n);
    for (let i = 0; i < n; i++) ids[i] = this.byteIds[this.bytes[i]!]!;
    const count = mergeSymbols(ids, n, this.table);
    for (let i = 0; i < count; i++) out.push(ids[i]!);
    if (cacheable) this.cache.insert(text, start, end, count === 1 ? ids[0]! : ids.slice(0, count));
  }

  private encodeChunk(text: string, start: number, end: number, out: number[]): void {
    const cacheable = end - start <= CACHEABLE_LENGTH;
    if (cacheable) {
      const cached = this.cache.get(text, start, end);
      if (cached !== undefined) {
        pushEntry(cached, out);
        return;
      }
    }
    const n = this.initialSymbols(text, start, end);
    const ids = this.symbols;
    const count = mergeSymbols(ids, n, this.table);
    for (let i = 0; i < count; i++) out.push(ids[i]!);
    if (cacheable) this.cache.insert(text, start, end, count === 1 ? ids[0]! : ids.slice(0, count));
  }

  /** The symbol scratch array with room for n ids; the first `keep` ids survive a regrowth. */
  private scratch(n: number, keep = 0): Int32Array {
    if (this.symbols.length < n) {
      const bigger = new Int32Array(Math.max(n, this.symbols.length * 2));
      if (keep > 0) bigger.set(this.symbols.subarray(0, keep));
      this.symbols = bigger;
    }
    return this.symbols;
  }

  /** Characters → ids, with continuing-subword prefix, end-of-word suffix, byte fallback and unk. */
  private initialSymbols(word: string, start: number, end: number): number {
    const plain = this.prefix === "" && this.suffix === "";
    let ids = this.scratch(end - start + 1);
    let n = 0;
    let pendingUnk = false;
    const flushUnk = () => {
      if (pendingUnk) ids[n++] = this.unkId;
      pendingUnk = false;
    };
    for (let i = start; i < end; ) {
      const c = word.charCodeAt(i);
      const width = c >= 0xd800 && c <= 0xdbff && i + 1 < end && (word.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      let id: number;
      if (plain && width === 1) id = this.charIds[c]!;
      else {
        let piece = word.slice(i, i + width);
        if (i > start) piece = this.prefix + piece;
        if (i + width === end) piece += this.suffix;
        id = this.vocab.get(piece) ?? -1;
      }
      if (id >= 0) {
        flushUnk();
        ids[n++] = id;
      } else if (this.fallbackIds && this.fallbackCount(word.slice(i, i + width)) > 0) {
        // Up to 4 byte ids replace one character: make room (the array is sized for one id each).
        ids = this.scratch(n + 4 + (end - i), n);
        for (const b of utf8Encode(word.slice(i, i + width))) ids[n++] = this.fallbackIds[b]!;
      } else if (this.unkId >= 0) {
        if (!this.fuseUnk) flushUnk();
        pendingUnk = true;
      }
      i += width;
    }
    flushUnk();
    return n;
  }

  /** How many `<0xXX>` pieces stand for the character, or 0 if one of them is missing. */
  private fallbackCount(ch: string): number {
    const bytes = utf8Encode(ch);
    for (const b of bytes) if (this.fallbackIds![b]! < 0) return 0;
    return bytes.length;
  }
}

function pushEntry(entry: CacheEntry, out: number[]): void {
  if (typeof entry === "number") out.push(entry);
  else for (let i = 0; i < entry.length; i++) out.push(entry[i]!);
}

function toByteLevelString(word: string): string {
  let out = "";
  for (const b of utf8Encode(word)) out += BYTE_TO_UNICODE[b];
  return out;
}
