/**
 * Flash-style causal attention: the same result as the naive kernel, without ever holding the
 * (seqLen × kvLen) score matrix. Queries are taken in tiles; keys and values stream past each tile
 * in blocks, and every query row keeps an online softmax:
 *
 *   m  = running max of its scores,   l = running Σ exp(s − m),   acc = running Σ exp(s − m)·v
 *
 * A new block with scores s_j moves the max to m' = max(m, max_j s_j); the old sums are rescaled
 * by exp(m − m') and the block's terms added. At the end out = acc / l. Scratch is O(tile × headDim)
 * per call, so attention memory grows only with the KV cache (linear in sequence length).
 *
 * GQA: the `group` = nHeads/nKVHeads query heads that share a K/V head are processed together, so
 * a query tile is (queryBlock positions × group heads) rows reading one K/V block.
 *
 * K/V layout: position-major rows of kvDim = nKVHeads·headDim floats. A dense cache stores
 * position p in row p; a rotating (ring-buffer) cache of `ringSlots` rows stores it in row
 * p mod ringSlots. Both are read through `ringSlots` (omit it for a dense cache).
 */
import { LoomError } from "../errors.js";

/**
 * The causal (and sliding-window) mask, in one place: the query at position p sees key positions
 * [first, end) = [max(0, p − window + 1), p + 1) — exactly `window` keys including itself, as HF
 * and llama.cpp agree — or [0, p + 1) without a window.
 */
export function visibleKeys(queryPos: number, window?: number): { first: number; end: number } {
  return { first: window === undefined ? 0 : Math.max(0, queryPos - window + 1), end: queryPos + 1 };
}

export interface FlashAttentionDims {
  /** Query rows in this call (seqLen; 1 while decoding). */
  nQ: number;
  /** Position of query row 0: query t sits at startPos + t. */
  startPos: number;
  nHeads: number;
  /** nHeads must be a multiple of nKVHeads; query head h reads kv head ⌊h / (nHeads/nKVHeads)⌋. */
  nKVHeads: number;
  headDim: number;
  /** Multiplies q·k before the softmax (1/√headDim unless the model says otherwise). */
  scale: number;
  /** Sliding window: the query at p sees keys p−window+1 ..= p (exactly `window` keys, itself included). */
  window?: number;
  /** Logit soft-cap (Gemma 2): s ← cap·tanh(s / cap), applied after `scale`. */
  softCap?: number;
  /** K/V live in a ring of this many rows (position p in row p mod ringSlots). Omit for a dense cache. */
  ringSlots?: number;
}

export interface FlashTiles {
  /** Query positions per tile (each brings `group` heads). */
  queryBlock: number;
  /** Keys per block streamed past a tile. */
  keyBlock: number;
}

export const DEFAULT_FLASH_TILES: FlashTiles = { queryBlock: 16, keyBlock: 64 };

/** Caller-owned working memory for flashAttention; make it once per model and reuse it. */
export interface FlashScratch {
  readonly tiles: FlashTiles;
  /** Largest rows per tile it was sized for: queryBlock × group. */
  readonly maxRows: number;
  readonly headDim: number;
  scores: Float64Array; // (keyBlock): one row's scores for the current block
  acc: Float64Array; // (rows, headDim): running Σ exp(s − m)·v
  rowMax: Float64Array; // (rows)
  rowSum: Float64Array; // (rows)
}

export function createFlashScratch(
  nHeads: number, nKVHeads: number, headDim: number, tiles: FlashTiles = DEFAULT_FLASH_TILES,
): FlashScratch {
  if (!(tiles.queryBlock >= 1 && tiles.keyBlock >= 1) || !Number.isInteger(tiles.queryBlock) || !Number.isInteger(tiles.keyBlock)) {
    throw new LoomError(`flash attention tiles must be positive integers, got ${JSON.stringify(tiles)}`);
  }
  const maxRows = tiles.queryBlock * Math.max(1, Math.floor(nHeads / nKVHeads));
  return {
    tiles: { ...tiles },
    maxRows,
    headDim,
    scores: new Float64Array(tiles.keyBlock),
    acc: new Float64Array(maxRows * headDim),
    rowMax: new Float64Array(maxRows),
    rowSum: new Float64Array(maxRows),
  };
}

/** Floats of scratch a call needs, for callers that budget memory. */
export function flashScratchFloats(nHeads: number, nKVHeads: number, headDim: number, tiles: FlashTiles = DEFAULT_FLASH_TILES): number {
  const rows = tiles.queryBlock * Math.floor(nHeads / nKVHeads);
  return tiles.keyBlock + rows * (headDim + 2);
}

/**
 * out (nQ, nHeads·headDim) = softmax(mask(scale · q kᵀ)) v, for q (nQ, nHeads·headDim) and the
 * K/V rows of kCache/vCache (see the layout above). Every key position the mask lets a query see
 * must be present in the cache.
 */
export function flashAttention(
  out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array,
  d: FlashAttentionDims, s: FlashScratch,
): void {
  checkDims(out, q, kCache, vCache, d, s);
  const { nQ, startPos, nHeads, nKVHeads, headDim, scale, window, softCap } = d;
  const group = nHeads / nKVHeads;
  const qRow = nHeads * headDim;
  const kvRow = nKVHeads * headDim;
  const ring = d.ringSlots ?? 0;
  const { queryBlock, keyBlock } = s.tiles;
  const { scores, acc, rowMax, rowSum } = s;

  for (let g = 0; g < nKVHeads; g++) {
    const kvHeadOffset = g * headDim;
    for (let t0 = 0; t0 < nQ; t0 += queryBlock) {
      const t1 = Math.min(nQ, t0 + queryBlock);
      const rows = (t1 - t0) * group; // row r is query t0 + ⌊r/group⌋, head g·group + r mod group
      rowMax.fill(-Infinity, 0, rows);
      rowSum.fill(0, 0, rows);
      acc.fill(0, 0, rows * headDim);

      // Keys any query of this tile may see: from the first query's window start to the last query
      // (visibleKeys, inlined so the hot loop allocates nothing). Blocks start at multiples of
      // keyBlock in absolute positions, so each query row meets the same blocks in the same order
      // whatever the tiling: prefill, chunked prefill and decode give bit-identical rows.
      const keysFirst = window === undefined ? 0 : Math.max(0, startPos + t0 - window + 1);
      const keysEnd = startPos + t1;
      for (let k0 = keysFirst - (keysFirst % keyBlock); k0 < keysEnd; k0 += keyBlock) {
        const k1 = Math.min(keysEnd, k0 + keyBlock);
        for (let r = 0; r < rows; r++) {
          const t = t0 + Math.floor(r / group);
          const qo = t * qRow + (g * group + (r % group)) * headDim;
          const pos = startPos + t;
          const lo = window === undefined ? k0 : Math.max(k0, pos - window + 1);
          const hi = Math.min(k1, pos + 1);
          if (lo >= hi) continue;

          // Scores of this row against the block, and their max.
          let blockMax = -Infinity;
          let j = lo;
          if (softCap === undefined && headDim % 4 === 0) {
            // Two keys per pass share the query loads; each key keeps dot's four partial sums.
            for (; j + 1 < hi; j += 2) {
              const ka = (ring === 0 ? j : j % ring) * kvRow + kvHeadOffset;
              const kb = (ring === 0 ? j + 1 : (j + 1) % ring) * kvRow + kvHeadOffset;
              let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
              for (let i = 0; i < headDim; i += 4) {
                const q0 = q[qo + i], q1 = q[qo + i + 1], q2 = q[qo + i + 2], q3 = q[qo + i + 3];
                a0 += q0 * kCache[ka + i]; a1 += q1 * kCache[ka + i + 1];
                a2 += q2 * kCache[ka + i + 2]; a3 += q3 * kCache[ka + i + 3];
                b0 += q0 * kCache[kb + i]; b1 += q1 * kCache[kb + i + 1];
                b2 += q2 * kCache[kb + i + 2]; b3 += q3 * kCache[kb + i + 3];
              }
              const scoreA = (a0 + a1 + a2 + a3) * scale, scoreB = (b0 + b1 + b2 + b3) * scale;
              scores[j - k0] = scoreA;
              scores[j + 1 - k0] = scoreB;
              if (scoreA > blockMax) blockMax = scoreA;
              if (scoreB > blockMax) blockMax = scoreB;
            }
          }
          for (; j < hi; j++) {
            const ko = (ring === 0 ? j : j % ring) * kvRow + kvHeadOffset;
            let score = dot(q, qo, kCache, ko, headDim) * scale;
            if (softCap !== undefined) score = softCap * Math.tanh(score / softCap);
            scores[j - k0] = score;
            if (score > blockMax) blockMax = score;
          }

          // Online softmax: rescale what was accumulated under the old max, then add this block.
          const oldMax = rowMax[r];
          const newMax = blockMax > oldMax ? blockMax : oldMax;
          const ao = r * headDim;
          let sum = rowSum[r];
          if (newMax !== oldMax) {
            const correction = Math.exp(oldMax - newMax); // 0 on the first block (oldMax = −∞)
            sum *= correction;
            for (let i = 0; i < headDim; i++) acc[ao + i] *= correction;
          }
          // Keys go into the accumulator in pairs, acc += p0·v0 + p1·v1; four pairs per pass (the
          // same sums in the same order) cut its loads and stores fourfold.
          j = lo;
          for (; j + 7 < hi; j += 8) {
            const p0 = Math.exp(scores[j - k0] - newMax), p1 = Math.exp(scores[j + 1 - k0] - newMax);
            const p2 = Math.exp(scores[j + 2 - k0] - newMax), p3 = Math.exp(scores[j + 3 - k0] - newMax);
            const p4 = Math.exp(scores[j + 4 - k0] - newMax), p5 = Math.exp(scores[j + 5 - k0] - newMax);
            const p6 = Math.exp(scores[j + 6 - k0] - newMax), p7 = Math.exp(scores[j + 7 - k0] - newMax);
            sum += p0 + p1;
            sum += p2 + p3;
            sum += p4 + p5;
            sum += p6 + p7;
            const v0 = (ring === 0 ? j : j % ring) * kvRow + kvHeadOffset;
            const v1 = (ring === 0 ? j + 1 : (j + 1) % ring) * kvRow + kvHeadOffset;
            const v2 = (ring === 0 ? j + 2 : (j + 2) % ring) * kvRow + kvHeadOffset;
            const v3 = (ring === 0 ? j + 3 : (j + 3) % ring) * kvRow + kvHeadOffset;
            const v4 = (ring === 0 ? j + 4 : (j + 4) % ring) * kvRow + kvHeadOffset;
            const v5 = (ring === 0 ? j + 5 : (j + 5) % ring) * kvRow + kvHeadOffset;
            const v6 = (ring === 0 ? j + 6 : (j + 6) % ring) * kvRow + kvHeadOffset;
            const v7 = (ring === 0 ? j + 7 : (j + 7) % ring) * kvRow + kvHeadOffset;
            for (let i = 0; i < headDim; i++) {
              acc[ao + i] = (((acc[ao + i] + (p0 * vCache[v0 + i] + p1 * vCache[v1 + i]))
                + (p2 * vCache[v2 + i] + p3 * vCache[v3 + i]))
                + (p4 * vCache[v4 + i] + p5 * vCache[v5 + i]))
                + (p6 * vCache[v6 + i] + p7 * vCache[v7 + i]);
            }
          }
          for (; j + 1 < hi; j += 2) {
            const p0 = Math.exp(scores[j - k0] - newMax), p1 = Math.exp(scores[j + 1 - k0] - newMax);
            sum += p0 + p1;
            const v0 = (ring === 0 ? j : j % ring) * kvRow + kvHeadOffset;
            const v1 = (ring === 0 ? j + 1 : (j + 1) % ring) * kvRow + kvHeadOffset;
            for (let i = 0; i < headDim; i++) acc[ao + i] += p0 * vCache[v0 + i] + p1 * vCache[v1 + i];
          }
          if (j < hi) {
            const p0 = Math.exp(scores[j - k0] - newMax);
            sum += p0;
            const v0 = (ring === 0 ? j : j % ring) * kvRow + kvHeadOffset;
            for (let i = 0; i < headDim; i++) acc[ao + i] += p0 * vCache[v0 + i];
          }
          rowMax[r] = newMax;
          rowSum[r] = sum;
        }
      }

      for (let r = 0; r < rows; r++) {
        const t = t0 + Math.floor(r / group);
        const oo = t * qRow + (g * group + (r % group)) * headDim;
        const inv = 1 / rowSum[r];
        const ao = r * headDim;
        for (let i = 0; i < headDim; i++) out[oo + i] = acc[ao + i] * inv;
      }
    }
  }
}

/** Σ a[ao+i]·b[bo+i] for i < len, in four independent partial sums. */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
    s2 += a[ao + i + 2] * b[bo + i + 2];
    s3 += a[ao + i + 3] * b[bo + i + 3];
  }
  for (; i < len; i++) s0 += a[ao + i] * b[bo + i];
  return s0 + s1 + s2 + s3;
}

function checkDims(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, d: FlashAttentionDims, s: FlashScratch,
): void {
  const where = checkAttentionCall(out, q, k, v, d, "flashAttention").where;
  const group = d.nHeads / d.nKVHeads;
  if (s.headDim !== d.headDim || s.tiles.queryBlock * group > s.maxRows) {
    throw new LoomError(`${where}: scratch was made for headDim ${s.headDim} and ${s.maxRows} rows per tile, `
      + `this call needs headDim ${d.headDim} and ${s.tiles.queryBlock * group}`);
  }
}

/**
 * The checks every attention kernel makes before it reads memory (this one and the WebAssembly
 * one): sizes, masks, and that q, out and the K/V rows the mask reaches are all there. Returns the
 * K/V rows the call reads, and the call's description for further messages.
 */
export function checkAttentionCall(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, d: FlashAttentionDims, kernel: string,
): { rowsNeeded: number; where: string } {
  const where = `${kernel}(nQ=${d.nQ}, startPos=${d.startPos}, nHeads=${d.nHeads}, nKVHeads=${d.nKVHeads}, headDim=${d.headDim})`;
  const positiveInt = (x: number) => Number.isInteger(x) && x > 0;
  if (!positiveInt(d.nQ) || !positiveInt(d.nHeads) || !positiveInt(d.nKVHeads) || !positiveInt(d.headDim)
    || !Number.isInteger(d.startPos) || d.startPos < 0) {
    throw new LoomError(`${where}: sizes must be positive integers and startPos a non-negative integer`);
  }
  if (d.nHeads % d.nKVHeads !== 0) throw new LoomError(`${where}: ${d.nHeads} query heads cannot share ${d.nKVHeads} K/V heads`);
  if (!Number.isFinite(d.scale)) throw new LoomError(`${where}: scale must be a finite number, got ${d.scale}`);
  if (d.window !== undefined && !positiveInt(d.window)) throw new LoomError(`${where}: window must be a positive integer, got ${d.window}`);
  if (d.softCap !== undefined && !(d.softCap > 0 && Number.isFinite(d.softCap))) {
    throw new LoomError(`${where}: softCap must be positive, got ${d.softCap}`);
  }
  const qLen = d.nQ * d.nHeads * d.headDim;
  if (q.length < qLen || out.length < qLen) {
    throw new LoomError(`${where}: q has ${q.length} and out ${out.length} floats, need ${qLen}`);
  }
  const kvDim = d.nKVHeads * d.headDim;
  const kvEnd = d.startPos + d.nQ;
  let rowsNeeded = kvEnd;
  if (d.ringSlots !== undefined) {
    // Positions in flight at once: a window (or everything, without one) plus this call's queries.
    const live = d.window === undefined ? kvEnd : Math.min(kvEnd, d.window - 1 + d.nQ);
    if (!positiveInt(d.ringSlots) || d.ringSlots < live) {
      throw new LoomError(`${where}: a ring of ${d.ringSlots} slots cannot hold the ${live} positions this call reads`);
    }
    rowsNeeded = Math.min(kvEnd, d.ringSlots);
  }
  if (k.length < rowsNeeded * kvDim || v.length < rowsNeeded * kvDim) {
    throw new LoomError(`${where}: K/V hold ${k.length}/${v.length} floats, need ${rowsNeeded} rows of ${kvDim}`);
  }
  return { rowsNeeded, where };
}
