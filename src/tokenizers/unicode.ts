/**
 * Character facts the tokenizers need: Unicode classes for the hand-written pre-tokenizer scanner,
 * GPT-2's byte↔unicode alphabet, and a UTF-8 encoder that never throws.
 */

/** Character classes of the GPT-2/Llama-3 split patterns. */
export const enum CharClass {
  Other = 0,
  Letter = 1, // \p{L}
  Number = 2, // \p{N}
  Space = 3, // \p{White_Space}
}

const LETTER = /^\p{L}$/u;
const NUMBER = /^\p{N}$/u;
const SPACE = /^\p{White_Space}$/u;

function classifySlow(ch: string): CharClass {
  if (LETTER.test(ch)) return CharClass.Letter;
  if (NUMBER.test(ch)) return CharClass.Number;
  if (SPACE.test(ch)) return CharClass.Space;
  return CharClass.Other;
}

let bmpClasses: Uint8Array | undefined;

/** A class for each BMP code unit (lone surrogates are Other), built once on first use (~10 ms). */
export function bmpClassTable(): Uint8Array {
  if (bmpClasses) return bmpClasses;
  const table = new Uint8Array(65536);
  for (let c = 0; c < 65536; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    table[c] = classifySlow(String.fromCharCode(c));
  }
  bmpClasses = table;
  return table;
}

const astralCache = new Map<number, CharClass>();

/** The class of any code point (astral ones are looked up and remembered). */
export function classOfCodePoint(cp: number): CharClass {
  if (cp < 65536) return bmpClassTable()[cp] as CharClass;
  let cls = astralCache.get(cp);
  if (cls === undefined) {
    cls = classifySlow(String.fromCodePoint(cp));
    astralCache.set(cp, cls);
  }
  return cls;
}

/**
 * GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to
 * themselves, the rest to U+0100 onwards, so every byte string is a readable vocabulary string.
 */
function buildByteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(next++);
  }
  return table;
}

export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** Char code of the byte-level character → byte, or -1. */
export const UNICODE_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(512).fill(-1);
  BYTE_TO_UNICODE.forEach((ch, b) => (table[ch.charCodeAt(0)] = b));
  return table;
})();

/** Maps a string's UTF-8 bytes to GPT-2's byte-level alphabet. */
export function toByteLevel(text: string): string {
  const bytes = utf8Encode(text);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_UNICODE[bytes[i]!];
  return out;
}

/**
 * Writes the UTF-8 bytes of text[start, end) into `out` (which must hold 3 bytes per code unit)
 * and returns the byte count. Lone surrogates become U+FFFD, as TextEncoder does.
 */
export function utf8EncodeInto(text: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[n++] = 0xf0 | (cp >> 18);
        out[n++] = 0x80 | ((cp >> 12) & 63);
        out[n++] = 0x80 | ((cp >> 6) & 63);
        out[n++] = 0x80 | (cp & 63);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 63);
    out[n++] = 0x80 | (c & 63);
  }
  return n;
}

export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  return out.subarray(0, utf8EncodeInto(text, 0, text.length, out));
}

const lossyDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** UTF-8 → string, each maximal invalid subsequence becoming one U+FFFD (Rust's from_utf8_lossy). */
export function utf8DecodeLossy(bytes: Uint8Array): string {
  return lossyDecoder.decode(bytes);
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 → string, or undefined when the bytes are not valid UTF-8. */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

interface WellFormedString {
  isWellFormed?(): boolean;
  toWellFormed?(): string;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** Replaces lone surrogates with U+FFFD so the text has a UTF-8 encoding (Rust strings always do). */
export function toWellFormed(text: string): string {
  const native = text as WellFormedString;
  if (native.isWellFormed && native.toWellFormed) return native.isWellFormed() ? text : native.toWellFormed();
  return LONE_SURROGATE.test(text) ? text.replace(/\p{Surrogate}/gu, "\ufffd") : text;
}
