/**
 * A hand-written scanner equal to the split pattern of Llama-3 (digits in runs of up to 3) and of
 * Qwen2/3 (single digits):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * with Oniguruma's meanings (\s = White_Space; (?i) folds ſ to s). Tested against the regex.
 */
import type { EmitRange } from "./gpt2-split.js";
import { bmpClassTable, CharClass, classOfCodePoint } from "./unicode.js";

export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const CR = 0x0d;
const LF = 0x0a;

/** Width (1 or 2 code units) of the code point at i < n. */
function widthAt(text: string, i: number, n: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
}

function classAt(text: string, i: number, n: number, table: Uint8Array): CharClass {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return table[c] as CharClass;
  return widthAt(text, i, n) === 2 ? classOfCodePoint(text.codePointAt(i)!) : CharClass.Other;
}

/** End of the run of class `cls` from i, taking at most `limit` code points. */
function runEnd(text: string, i: number, n: number, cls: CharClass, table: Uint8Array, limit = Infinity): number {
  let count = 0;
  while (i < n && count < limit && classAt(text, i, n, table) === cls) {
    i += widthAt(text, i, n);
    count++;
  }
  return i;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c === 0x17f ? 0x73 : c; // ASCII case, and ſ folds to s
}

/** Length of a case-insensitive contraction ('s 't 're 've 'm 'll 'd) at i, or 0. */
function contractionLength(text: string, i: number, n: number): number {
  if (i + 1 >= n) return 0;
  const a = lower(text.charCodeAt(i + 1));
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (i + 2 >= n) return 0;
  const b = lower(text.charCodeAt(i + 2));
  if ((a === 0x72 || a === 0x76) && b === 0x65) return 3; // re ve
  if (a === 0x6c && b === 0x6c) return 3; // ll
  return 0;
}

/** Splits text[from, to) as the pattern would the whole input; `maxDigits` is 3 (Llama-3) or 1 (Qwen). */
export function splitLlama3(text: string, from: number, to: number, maxDigits: number, emit: EmitRange): void {
  const table = bmpClassTable();
  const n = to;
  let i = from;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x27) {
      const len = contractionLength(text, i, n);
      if (len > 0) {
        emit(text, i, i + len);
        i += len;
        continue;
      }
    }
    const cls = classAt(text, i, n, table);
    if (cls === CharClass.Letter) {
      const end = runEnd(text, i, n, CharClass.Letter, table);
      emit(text, i, end);
      i = end;
      continue;
    }
    const width = widthAt(text, i, n);
    // [^\r\n\p{L}\p{N}]?\p{L}+ : one non-letter, non-digit, non-newline character leading letters.
    if (cls !== CharClass.Number && c !== CR && c !== LF && i + width < n && classAt(text, i + width, n, table) === CharClass.Letter) {
      const end = runEnd(text, i + width, n, CharClass.Letter, table);
      emit(text, i, end);
      i = end;
      continue;
    }
    if (cls === CharClass.Number) {
      const end = runEnd(text, i, n, CharClass.Number, table, maxDigits);
      emit(text, i, end);
      i = end;
      continue;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    const symbolStart = c === 0x20 && i + 1 < n && classAt(text, i + 1, n, table) === CharClass.Other ? i + 1 : cls === CharClass.Other ? i : -1;
    if (symbolStart >= 0) {
      let end = runEnd(text, symbolStart, n, CharClass.Other, table);
      while (end < n && (text.charCodeAt(end) === CR || text.charCodeAt(end) === LF)) end++;
      emit(text, i, end);
      i = end;
      continue;
    }
    // Whitespace: up to the last newline of the run if it has one, else \s+(?!\S) then \s+.
    const end = runEnd(text, i, n, CharClass.Space, table);
    let cut = -1;
    for (let k = end - 1; k >= i; k--) {
      const d = text.charCodeAt(k);
      if (d === CR || d === LF) {
        cut = k + 1;
        break;
      }
    }
    if (cut < 0) cut = end < n && end - i >= 2 ? end - 1 : end;
    emit(text, i, cut);
    i = cut;
  }
}
