/**
 * A hand-written scanner equal to GPT-2's split pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (with \s = White_Space, as Oniguruma reads it). It is several times faster than the regex and is
 * tested against it on random text.
 */
import { bmpClassTable, CharClass, classOfCodePoint } from "./unicode.js";

export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const APOSTROPHE = 0x27;
const WIDTH = new Int32Array(1);
const SPACE = 0x20;

/** Class of the code point at i; its width in code units is written to widthOut[0]. */
function classAt(text: string, i: number, n: number, table: Uint8Array, widthOut: Int32Array): CharClass {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) {
      widthOut[0] = 2;
      return classOfCodePoint(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
    }
  }
  widthOut[0] = 1;
  return table[c] as CharClass;
}

/** End of the run of code points of class `cls` starting at i. */
function runEnd(text: string, i: number, n: number, cls: CharClass, table: Uint8Array, width: Int32Array): number {
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) {
      if (table[c] !== cls) return i;
      i++;
    } else {
      if (classAt(text, i, n, table, width) !== cls) return i;
      i += width[0]!;
    }
  }
  return i;
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0. */
function contractionLength(text: string, i: number, n: number): number {
  if (i + 1 >= n) return 0;
  const a = text.charCodeAt(i + 1);
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (i + 2 >= n) return 0;
  const b = text.charCodeAt(i + 2);
  if ((a === 0x72 || a === 0x76) && b === 0x65) return 3; // re ve
  if (a === 0x6c && b === 0x6c) return 3; // ll
  return 0;
}

/** Receives pieces as ranges [start, end) of `text`. */
export type EmitRange = (text: string, start: number, end: number) => void;

/**
 * Calls emit with each piece of text[from, to) in order; the pieces tile the range, which is split
 * as if it were the whole input.
 */
export function splitGpt2(text: string, from: number, to: number, emit: EmitRange): void {
  const table = bmpClassTable();
  const width = WIDTH;
  const n = to;
  let i = from;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === APOSTROPHE) {
      const len = contractionLength(text, i, n);
      if (len > 0) {
        emit(text, i, i + len);
        i += len;
        continue;
      }
    }
    let start = i;
    let cls: CharClass;
    if (c === SPACE && i + 1 < n) {
      const next = classAt(text, i + 1, n, table, width);
      if (next !== CharClass.Space) {
        // " ?X+": the space joins the run that follows it.
        i++;
        cls = next;
      } else {
        cls = CharClass.Space;
      }
    } else {
      cls = classAt(text, i, n, table, width);
    }
    if (cls !== CharClass.Space) {
      const end = runEnd(text, i, n, cls, table, width);
      emit(text, start, end);
      i = end;
      continue;
    }
    // Whitespace: \s+(?!\S) leaves the last space of a run for the word after it.
    start = i;
    const end = runEnd(text, i, n, CharClass.Space, table, width);
    const cut = end < n && end - start >= 2 ? end - 1 : end;
    emit(text, start, cut);
    i = cut;
  }
}
