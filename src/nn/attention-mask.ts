/**
 * Attention masks come from the cache (mlx-lm's rule): a cache knows which positions it holds and
 * where, so it describes the keys a forward call may read, and the kernel applies one mask rule
 * (kernels/flash-attention.ts `visibleKeys`). Prefill, decode and chunked prefill are then the same
 * call with different (startPos, nQ), and cannot disagree.
 */
import { LoomError } from "../errors.js";
import { visibleKeys } from "../kernels/flash-attention.js";

export { visibleKeys };

/** What a cache tells the attention kernel about the keys of one forward call. */
export interface AttentionSpan {
  /** Position of the first query: the positions already cached before this call. */
  startPos: number;
  /** Query rows in the call. */
  nQ: number;
  /** Sliding window, if the layer has one. */
  window?: number;
  /** Rows of the ring the cache stores K/V in (position p in row p mod ringSlots); absent for a dense cache. */
  ringSlots?: number;
}

/** The mask as an additive matrix (nQ, kvLen): 0 where the query at startPos + t sees key j, −∞ elsewhere. */
export function fillAttentionMask(mask: Float32Array, startPos: number, nQ: number, window?: number): void {
  const kvLen = startPos + nQ;
  if (mask.length < nQ * kvLen) throw new LoomError(`attention mask needs ${nQ}×${kvLen} floats, got ${mask.length}`);
  for (let t = 0; t < nQ; t++) {
    const { first, end } = visibleKeys(startPos + t, window);
    const row = t * kvLen;
    mask.fill(-Infinity, row, row + kvLen);
    mask.fill(0, row + first, row + end);
  }
}

/** Number of key positions the query at `queryPos` attends to. */
export function visibleKeyCount(queryPos: number, window?: number): number {
  const { first, end } = visibleKeys(queryPos, window);
  return end - first;
}

/** Oldest position any query of a call at startPos needs: the first query's window start. */
export function oldestNeededPosition(startPos: number, window?: number): number {
  return visibleKeys(startPos, window).first;
}
