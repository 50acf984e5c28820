/**
 * The two conventions of GPT-2's byte-level BPE that a trainer and an encoder must share.
 *
 * 1. Every byte is shown as one printable character, so tokens are ordinary strings: bytes that
 *    are already printable (and not space) stand for themselves; the other 68 are shifted to
 *    U+0100 and up, in byte order (space 0x20 becomes "Ġ", newline "Ċ").
 * 2. Text is first cut into pieces by GPT-2's regex (contractions, letters with an optional
 *    leading space, digits, punctuation runs, whitespace), and merges never cross a piece.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) chars.push(String.fromCharCode(printable(b) ? b : 256 + shifted++));
  return chars;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** GPT-2's pre-tokenization pattern, as HF's ByteLevel pre-tokenizer (use_regex: true) applies it. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();

/** The pre-tokens of `text`, each already in byte-level characters. */
export function pretokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(GPT2_PATTERN)) out.push(toByteChars(m[0]));
  return out;
}

export function toByteChars(piece: string): string {
  let s = "";
  for (const b of utf8.encode(piece)) s += BYTE_TO_CHAR[b];
  return s;
}

/** Byte-level characters back to bytes (unknown characters are skipped). */
export function fromByteChars(s: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of s) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) bytes.push(b);
  }
  return Uint8Array.from(bytes);
}
