/**
 * SentencePiece-style text is one long "word" ("▁The▁cat▁sat…"): no pre-tokenizer splits it.
 * It can still be cut, exactly, before every "▁" that no vocabulary piece joins to the character
 * in front of it: no merge then crosses the cut, so each chunk merges on its own exactly as the
 * whole would (and short chunks hit the word cache). The "blockers" are the characters that do
 * precede a "▁" inside some piece.
 */
export const METASPACE = "\u2581";
const METASPACE_CODE = 0x2581;

/** Code units that precede a non-initial "▁" in any of the pieces (runs of "▁" excepted). */
export function metaspaceBlockers(pieces: Iterable<string>): Set<number> {
  const blockers = new Set<number>();
  for (const piece of pieces) {
    for (let j = piece.indexOf(METASPACE, 1); j > 0; j = piece.indexOf(METASPACE, j + 1)) {
      if (piece.charCodeAt(j - 1) !== METASPACE_CODE) blockers.add(piece.charCodeAt(j - 1));
    }
  }
  return blockers;
}

/** Calls onChunk for consecutive ranges tiling text[start, end), cut before unblocked "▁"s. */
export function forEachChunk(text: string, start: number, end: number, blockers: ReadonlySet<number>, onChunk: (start: number, end: number) => void): void {
  let chunkStart = start;
  for (let i = text.indexOf(METASPACE, start + 1); i > 0 && i < end; i = text.indexOf(METASPACE, i + 1)) {
    const before = text.charCodeAt(i - 1);
    if (before === METASPACE_CODE || blockers.has(before)) continue;
    onChunk(chunkStart, i);
    chunkStart = i;
  }
  onChunk(chunkStart, end);
}
