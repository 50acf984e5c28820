// Entry point of the WebAssembly kernels. Everything works on plain offsets into the one shared
// memory that the host allocates; nothing here allocates. A matmul is described by a job record in
// memory, so the main thread and every worker run the same `runPart` on their share of the rows.

import { matmulF32, matmulF16, matmulBF16, decodeF32, decodeF16, decodeBF16 } from "./dense";
import { matmulQuantized, decodePairs, KIND_Q8_0, KIND_Q4_0 } from "./quantized";
import { min32 } from "./common";
import { flashAttention, flashDecodeBlocks, decodeBlockCount, QUERY_BLOCK } from "./attention";

export { quantizeQ8_0, quantizeQ8_K } from "./quantize";
export { f32ToF16, hasNonFiniteF16 } from "./half";
export { transpose32, transpose16 } from "./transpose";
import { transposeRows32, transposeRows16, TRANSPOSE_BAND } from "./transpose";
export { encodeQ8_0, encodeQ4_0, encodeF16 } from "./encode";
export { opGelu, opSwiglu, opGeglu, opAdd, opAddBias, opLayerNorm, opRmsNorm } from "./activations";
export { flashAttention, flashScratchBytes, flashDecodeMerge, decodeBlockCount, kernelExp, kernelTanh } from "./attention";

/** Kinds of matmul job; the host mirrors these numbers. */
export const KIND_F32: i32 = 0;
export const KIND_F16: i32 = 1;
export const KIND_BF16: i32 = 2;
// 3 .. 6: Q8_0, Q4_0, Q4_K, Q6_K (see quantized.ts)

// Job record: i32 words at these byte offsets.
const JOB_KIND = 0;
const JOB_W = 4;
const JOB_X = 8; //        f32 activations, or i16 quantized activations
const JOB_XD = 12; //      f32 activation block scales (quantized kinds)
const JOB_XS = 16; //      i32 activation sums per 32 values (Q4_K)
const JOB_OUT = 20;
const JOB_ROWS = 24;
const JOB_COLS = 28;
const JOB_N = 32;
const JOB_SCRATCH = 36; // per-thread scratch: thread t owns [scratch + t · bytes, + bytes)
const JOB_SCRATCH_BYTES = 40;

// A job may instead hold up to MAX_SEGMENTS matrices that share x, cols and kind (Q, K and V; gate
// and up): their rows are cut into chunks as if stacked, so one synchronisation runs them all.
const JOB_SEGMENTS = 44; // number of segments; 0: the single matrix above
const JOB_SEGMENT = 48; //  per segment: w, out, rows (12 bytes)
const MAX_SEGMENTS = 4;

/** Part `part` of `parts` of the job at `job`: a contiguous range of rows, multiples of 4. */
export function runPart(job: usize, part: i32, parts: i32): void {
  runChunk(job, part, parts, part);
}

/**
 * The same, run by thread `slot` (which picks its share of the scratch): the pool hands out more
 * parts than threads, to whichever thread claims them.
 */
export function runChunk(job: usize, part: i32, parts: i32, slot: i32): void {
  const kind = load<i32>(job + JOB_KIND);
  if (kind == KIND_ATTENTION) {
    runAttention(job + JOB_ATTENTION, part, parts, slot);
    return;
  }
  if (kind == KIND_COPY || kind == KIND_TRANSPOSE) {
    runMove(kind, job + JOB_MOVE, part, parts);
    return;
  }
  // Work units: quads of rows; for decode, rows far apart whatever the chunk (their streams stay
  // apart however small a chunk is): Q8_0/Q4_0 pairs half the matrix apart, f32/f16/bf16 quads a
  // quarter apart. Chunks are guided: big ones first, and the last, small ones even out the finish
  // (one vCPU here runs a job ~1.5× slower than the other).
  const pairs = (kind == KIND_Q8_0 || kind == KIND_Q4_0) && load<i32>(job + JOB_N) < 4;
  const segments = load<i32>(job + JOB_SEGMENTS);
  const count = segments == 0 ? 1 : min32(segments, MAX_SEGMENTS);
  let total = 0;
  for (let s = 0; s < count; s++) total += unitsOf(segmentRows(job, s, segments), pairs);
  const u0 = splitAt(total, part, parts), u1 = splitAt(total, part + 1, parts);
  let base = 0;
  for (let s = 0; s < count; s++) {
    const rows = segmentRows(job, s, segments);
    const units = unitsOf(rows, pairs);
    const lo = max(u0, base) - base, hi = min32(u1, base + units) - base;
    base += units;
    if (lo >= hi) continue;
    const w = segments == 0 ? load<usize>(job + JOB_W) : load<usize>(job + JOB_SEGMENT + <usize>(s * 12));
    const out = segments == 0 ? load<usize>(job + JOB_OUT) : load<usize>(job + JOB_SEGMENT + <usize>(s * 12), 4);
    if (kind <= KIND_BF16 && load<i32>(job + JOB_N) == 1) {
      const x = load<usize>(job + JOB_X), cols = load<i32>(job + JOB_COLS);
      if (kind == KIND_F32) decodeF32(w, x, out, rows, cols, lo, hi);
      else if (kind == KIND_F16) decodeF16(w, x, out, rows, cols, lo, hi);
      else decodeBF16(w, x, out, rows, cols, lo, hi);
    } else if (pairs) {
      const bytes = load<i32>(job + JOB_SCRATCH_BYTES);
      const scratch = load<usize>(job + JOB_SCRATCH) + <usize>slot * <usize>bytes;
      decodePairs(kind, w, load<usize>(job + JOB_X), load<usize>(job + JOB_XD), out, rows, load<i32>(job + JOB_COLS), load<i32>(job + JOB_N), lo, hi, scratch);
    } else {
      runRows(job, w, out, rows, lo << 2, min32(rows, hi << 2), slot);
    }
  }
}

/** Rows of segment s (the single matrix when the job has no segments). */
@inline
function segmentRows(job: usize, s: i32, segments: i32): i32 {
  return segments == 0 ? load<i32>(job + JOB_ROWS) : load<i32>(job + JOB_SEGMENT + <usize>(s * 12), 8);
}

/** Work units of a matrix of `rows`: pairs (and the odd last row) or quads. */
@inline
function unitsOf(rows: i32, pairs: bool): i32 {
  return pairs ? (rows + 1) >> 1 : (rows + 3) >> 2;
}

/** Where chunk `part` of `parts` starts, in units of `total`: chunk c ends at 1 − (1 − (c+1)/parts)² of the way. */
function splitAt(total: i32, part: i32, parts: i32): i32 {
  const left = <i64>(parts - part);
  return total - <i32>(<i64>total * left * left / (<i64>parts * <i64>parts));
}

/** Rows r0 .. r1 of W (rows, cols) at w, written to out; the rest of the job record says how. */
function runRows(job: usize, w: usize, out: usize, rows: i32, r0: i32, r1: i32, slot: i32): void {
  if (r0 >= r1) return;
  const kind = load<i32>(job + JOB_KIND);
  const cols = load<i32>(job + JOB_COLS);
  const n = load<i32>(job + JOB_N);
  const x = load<usize>(job + JOB_X);
  if (kind == KIND_F32) matmulF32(w, x, out, rows, cols, n, r0, r1);
  else if (kind == KIND_F16) matmulF16(w, x, out, rows, cols, n, r0, r1);
  else if (kind == KIND_BF16) matmulBF16(w, x, out, rows, cols, n, r0, r1);
  else {
    const bytes = load<i32>(job + JOB_SCRATCH_BYTES);
    const scratch = load<usize>(job + JOB_SCRATCH) + <usize>slot * <usize>bytes;
    matmulQuantized(kind, w, x, load<usize>(job + JOB_XD), load<usize>(job + JOB_XS), out, rows, cols, n, r0, r1, scratch, bytes);
  }
}

// An attention job: flash attention over a KV cache, cut into units that any thread may run, since
// every query row comes out the same whoever computes it: (KV head, query tile) for prefill, (key
// block, run of query heads) for decode, whose block partials the host then merges
// (flashDecodeMerge). Fields, i32 words from JOB_ATTENTION (scale and softCap as f32 bits): q, k,
// v, out, scratch, scratchBytes, nQ, startPos, nHeads, nKVHeads, headDim, scale, window, softCap,
// ringSlots, and for decode: partials, query heads per unit.
const KIND_ATTENTION = 16;
const JOB_ATTENTION = 96;

function runAttention(a: usize, part: i32, parts: i32, slot: i32): void {
  const q = load<usize>(a), k = load<usize>(a, 4), v = load<usize>(a, 8), out = load<usize>(a, 12);
  const scratch = load<usize>(a, 16) + <usize>slot * <usize>load<i32>(a, 20);
  const nQ = load<i32>(a, 24), startPos = load<i32>(a, 28);
  const nHeads = load<i32>(a, 32), nKVHeads = load<i32>(a, 36), headDim = load<i32>(a, 40);
  const scale = load<f32>(a, 44), window = load<i32>(a, 48), softCap = load<f32>(a, 52), ringSlots = load<i32>(a, 56);
  if (nQ == 1) {
    // Decode: units are (key block, run of `maxRows` query heads, at most QUERY_BLOCK · group).
    const maxRows = load<i32>(a, 64);
    const runs = (nHeads + maxRows - 1) / maxRows;
    const units = decodeBlockCount(startPos, window) * runs;
    const u0 = <i32>(<i64>units * part / parts), u1 = <i32>(<i64>units * (part + 1) / parts);
    for (let u = u0; u < u1; u++) {
      const b = u / runs, h = (u % runs) * maxRows;
      flashDecodeBlocks(
        load<usize>(a, 60), q, k, v, scratch, startPos, nHeads, nKVHeads, headDim, scale, window, softCap, ringSlots,
        h, min32(nHeads, h + maxRows), b, b + 1,
      );
    }
    return;
  }
  const tiles = (nQ + QUERY_BLOCK - 1) / QUERY_BLOCK;
  const units = nKVHeads * tiles;
  const u0 = <i32>(<i64>units * part / parts), u1 = <i32>(<i64>units * (part + 1) / parts);
  const rowBytes = <usize>(nHeads * headDim) << 2;
  for (let u = u0; u < u1; u++) {
    const g = u % nKVHeads, t0 = (u / nKVHeads) * QUERY_BLOCK;
    const rows = min32(QUERY_BLOCK, nQ - t0);
    const at = <usize>t0 * rowBytes;
    flashAttention(out + at, q + at, k, v, scratch, rows, startPos + t0, nHeads, nKVHeads, headDim, scale, window, softCap, ringSlots, g, g + 1);
  }
}

// Moving bytes at load time, on every thread: a copy (src, dst, bytes; 4 MiB units) or a transpose
// (src, dst, rows, cols, elementBytes; bands of TRANSPOSE_BAND source rows), fields from JOB_MOVE
// on (the words an attention job uses). src and dst must not overlap.
const JOB_MOVE = 96;
const KIND_COPY = 17;
const KIND_TRANSPOSE = 18;
const COPY_UNIT: i32 = 4 << 20;

function runMove(kind: i32, a: usize, part: i32, parts: i32): void {
  const src = load<usize>(a), dst = load<usize>(a, 4);
  if (kind == KIND_COPY) {
    const bytes = load<u32>(a, 8);
    const units = <i32>((bytes + <u32>COPY_UNIT - 1) / <u32>COPY_UNIT);
    const u0 = <i32>(<i64>units * part / parts), u1 = <i32>(<i64>units * (part + 1) / parts);
    const from = <usize>u0 * <usize>COPY_UNIT, to = min(<usize>u1 * <usize>COPY_UNIT, <usize>bytes);
    if (from < to) memory.copy(dst + from, src + from, to - from);
    return;
  }
  const rows = load<i32>(a, 8), cols = load<i32>(a, 12), elementBytes = load<i32>(a, 16);
  const bands = (rows + TRANSPOSE_BAND - 1) / TRANSPOSE_BAND;
  const b0 = <i32>(<i64>bands * part / parts), b1 = <i32>(<i64>bands * (part + 1) / parts);
  const from = b0 * TRANSPOSE_BAND, to = min32(rows, b1 * TRANSPOSE_BAND);
  if (from >= to) return;
  if (elementBytes == 4) transposeRows32(src, dst, rows, cols, from, to);
  else transposeRows16(src, dst, rows, cols, from, to);
}
