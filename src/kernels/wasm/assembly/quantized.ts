// Quantized products out (n, rows) = x (n, cols) · Wᵀ for Q8_0, Q4_0, Q4_K and Q6_K weights, with x
// already quantized (Q8_0 for the first two, Q8_K for the k-quants).
//
// Fewer than 4 tokens: each row's blocks are dotted straight from the file bytes (Q8_0 and Q4_0:
// two rows at a time, k-quants: one), the rows staying in L1 while the tokens pass. 4 or more
// (prefill): a block of rows is first expanded into i16 values and f32 block scales in this
// thread's scratch, then a 1 row × 4 tokens kernel reuses every loaded weight vector for four
// tokens. Both paths do the same integer sums and the same f32 steps in the same order (Q8_0 and
// Q4_0: blocks32.ts; k-quants: per block sum += f32(sumi) · (d_w · d_x)), so a token's output
// never depends on the path.

import { dot8, min32, sumInts, sum4x4 } from "./common";
import {
  rowPairQ8_0, rowPairQ4_0, rowSingleQ8_0, rowSingleQ4_0, decodeRowQ8_0, decodeRowQ4_0,
  expandedRow1x4, expandedRow1x1, gatherScales4, Q8_0_BYTES, Q4_0_BYTES,
} from "./blocks32";
import { rowDotQ4K, rowDotQ6K, decodeRowQ4K, decodeRowQ6K, Q4_K_BYTES, Q6_K_BYTES } from "./kquants";

export const KIND_Q8_0: i32 = 3;
export const KIND_Q4_0: i32 = 4;
export const KIND_Q4_K: i32 = 5;
export const KIND_Q6_K: i32 = 6;

// Activations: q (n, cols) i16, d (n, cols / blockLen) f32, sums (n, cols / 32) i32, as globals
// set once per call (plain memory offsets; no objects, so nothing is ever allocated). Strides are
// in bytes per token, precomputed so no division ends up in a hot loop.
let xQ: usize = 0, xD: usize = 0, xSums: usize = 0;
let qStride: usize = 0, dStride: usize = 0, sumsStride: usize = 0;

@inline function qAt(t: i32): usize { return xQ + <usize>t * qStride; }
@inline function dAt(t: i32): usize { return xD + <usize>t * dStride; }
@inline function sumsAt(t: i32): usize { return xSums + <usize>t * sumsStride; }

function blockBytes(kind: i32): i32 {
  if (kind == KIND_Q8_0) return Q8_0_BYTES;
  if (kind == KIND_Q4_0) return Q4_0_BYTES;
  if (kind == KIND_Q4_K) return Q4_K_BYTES;
  return Q6_K_BYTES;
}

function blockLength(kind: i32): i32 {
  return kind == KIND_Q4_K || kind == KIND_Q6_K ? 256 : 32;
}

/** One k-quant row · token t's Q8_K activations. */
@inline
function rowDotK(kind: i32, w: usize, t: i32, blocks: i32): f32 {
  if (kind == KIND_Q4_K) return rowDotQ4K(w, qAt(t), dAt(t), sumsAt(t), blocks);
  return rowDotQ6K(w, qAt(t), dAt(t), blocks);
}

/**
 * One expanded row in scratch: q (cols i16) | d (blocks f32) | for Q4_K also dmin (blocks f32)
 * and mins (8 · blocks i32).
 */
function expandedRowBytes(kind: i32, cols: i32): i32 {
  const blocks = cols / blockLength(kind);
  return (cols << 1) + (blocks << 2) + (kind == KIND_Q4_K ? (blocks << 2) + (blocks << 5) : 0);
}

function expandRow(kind: i32, w: usize, to: usize, cols: i32): void {
  const blocks = cols / blockLength(kind);
  const d = to + (<usize>cols << 1);
  if (kind == KIND_Q8_0) decodeRowQ8_0(w, to, d, blocks);
  else if (kind == KIND_Q4_0) decodeRowQ4_0(w, to, d, blocks);
  else if (kind == KIND_Q4_K) decodeRowQ4K(w, to, d, d + (<usize>blocks << 2), d + (<usize>blocks << 3), blocks);
  else decodeRowQ6K(w, to, d, blocks);
}

/** Q4_K's min term for one expanded row and token: Σ_b (dmin_b · d_x,b) · Σ_j m_bj · sum_x,bj. */
function minTerm(row: usize, cols: i32, t: i32): f32 {
  const blocks = cols >> 8;
  const dmin = row + (<usize>cols << 1) + (<usize>blocks << 2);
  const mins = dmin + (<usize>blocks << 2);
  const xd = dAt(t), xs = sumsAt(t);
  let total: f32 = 0;
  for (let b = 0; b < blocks; b++) {
    const m = mins + (<usize>b << 5), s = xs + (<usize>b << 5);
    const products = i32x4.add(
      i32x4.mul(v128.load(m), v128.load(s)),
      i32x4.mul(v128.load(m, 16), v128.load(s, 16)),
    );
    total += <f32>sumInts(products) * (load<f32>(dmin + (<usize>b << 2)) * load<f32>(xd + (<usize>b << 2)));
  }
  return total;
}

/** Σ over 32 expanded weights at w and 32 activations at x, as i32x4 partial sums. */
@inline
function dot32(w: usize, x: usize): v128 {
  return i32x4.add(
    i32x4.add(dot8(v128.load(w), v128.load(x)), dot8(v128.load(w, 16), v128.load(x, 16))),
    i32x4.add(dot8(v128.load(w, 32), v128.load(x, 32)), dot8(v128.load(w, 48), v128.load(x, 48))),
  );
}

/** One expanded row × 4 tokens (t .. t+3), written to out (n, rows) at column r. */
function row1x4(row: usize, cols: i32, blockLen: i32, t: i32, out: usize, rows: i32, r: i32): void {
  const blocks = cols / blockLen;
  const d = row + (<usize>cols << 1);
  const x0 = qAt(t), x1 = qAt(t + 1), x2 = qAt(t + 2), x3 = qAt(t + 3);
  const d0 = dAt(t), d1 = dAt(t + 1), d2 = dAt(t + 2), d3 = dAt(t + 3);
  let sums = f32x4.splat(0); // lane j: token t + j
  for (let b = 0; b < blocks; b++) {
    let i0 = i32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
    const end = (b + 1) * blockLen;
    for (let k = b * blockLen; k < end; k += 32) {
      const o = <usize>k << 1;
      const w = row + o;
      const v0 = v128.load(w), v1 = v128.load(w, 16), v2 = v128.load(w, 32), v3 = v128.load(w, 48);
      i0 = i32x4.add(i0, i32x4.add(
        i32x4.add(dot8(v0, v128.load(x0 + o)), dot8(v1, v128.load(x0 + o, 16))),
        i32x4.add(dot8(v2, v128.load(x0 + o, 32)), dot8(v3, v128.load(x0 + o, 48)))));
      i1 = i32x4.add(i1, i32x4.add(
        i32x4.add(dot8(v0, v128.load(x1 + o)), dot8(v1, v128.load(x1 + o, 16))),
        i32x4.add(dot8(v2, v128.load(x1 + o, 32)), dot8(v3, v128.load(x1 + o, 48)))));
      i2 = i32x4.add(i2, i32x4.add(
        i32x4.add(dot8(v0, v128.load(x2 + o)), dot8(v1, v128.load(x2 + o, 16))),
        i32x4.add(dot8(v2, v128.load(x2 + o, 32)), dot8(v3, v128.load(x2 + o, 48)))));
      i3 = i32x4.add(i3, i32x4.add(
        i32x4.add(dot8(v0, v128.load(x3 + o)), dot8(v1, v128.load(x3 + o, 16))),
        i32x4.add(dot8(v2, v128.load(x3 + o, 32)), dot8(v3, v128.load(x3 + o, 48)))));
    }
    const bo = <usize>b << 2;
    let dx = v128.load32_lane(d0 + bo, i32x4.splat(0), 0);
    dx = v128.load32_lane(d1 + bo, dx, 1);
    dx = v128.load32_lane(d2 + bo, dx, 2);
    dx = v128.load32_lane(d3 + bo, dx, 3);
    const scales = f32x4.mul(f32x4.splat(load<f32>(d + bo)), dx);
    sums = f32x4.add(sums, f32x4.mul(f32x4.convert_i32x4_s(sum4x4(i0, i1, i2, i3)), scales));
  }
  const o = out + (<usize>(t * rows + r) << 2);
  const stride = <usize>rows << 2;
  store<f32>(o, f32x4.extract_lane(sums, 0));
  store<f32>(o + stride, f32x4.extract_lane(sums, 1));
  store<f32>(o + 2 * stride, f32x4.extract_lane(sums, 2));
  store<f32>(o + 3 * stride, f32x4.extract_lane(sums, 3));
}

/** One expanded row × one token (the tokens past the last multiple of 4). */
function row1x1(row: usize, cols: i32, blockLen: i32, t: i32): f32 {
  const blocks = cols / blockLen;
  const d = row + (<usize>cols << 1);
  const xq = qAt(t), xd = dAt(t);
  let sum: f32 = 0;
  for (let b = 0; b < blocks; b++) {
    let isum = i32x4.splat(0);
    const end = (b + 1) * blockLen;
    for (let k = b * blockLen; k < end; k += 32) {
      const o = <usize>k << 1;
      isum = i32x4.add(isum, dot32(row + o, xq + o));
    }
    sum += <f32>sumInts(isum) * (load<f32>(d + (<usize>b << 2)) * load<f32>(xd + (<usize>b << 2)));
  }
  return sum;
}

/** Rows r0 .. r1 of a quantized product; `scratch` holds this thread's expanded rows. */
export function matmulQuantized(
  kind: i32, w: usize, xq: usize, xd: usize, xs: usize, out: usize,
  rows: i32, cols: i32, n: i32, r0: i32, r1: i32, scratch: usize, scratchBytes: i32,
): void {
  const blockLen = blockLength(kind);
  const blocks = cols / blockLen;
  const rowBytes = <usize>(blocks * blockBytes(kind));
  xQ = xq; xD = xd; xSums = xs;
  qStride = <usize>cols << 1;
  dStride = <usize>blocks << 2;
  sumsStride = <usize>(cols >> 5) << 2;
  if (n < 4) {
    // Row by row, each row dotted with every token while it is in L1. (Jobs send Q8_0/Q4_0 decode
    // to decodePairs, which reads two far-apart rows at once; a row's steps are the same.)
    for (let r = r0; r < r1; r++) {
      const row = w + <usize>r * rowBytes;
      for (let t = 0; t < n; t++) {
        let value: f32;
        if (kind == KIND_Q8_0) value = rowSingleQ8_0(row, qAt(t), dAt(t), blocks, scratch);
        else if (kind == KIND_Q4_0) value = rowSingleQ4_0(row, qAt(t), dAt(t), blocks, scratch);
        else value = rowDotK(kind, row, t, blocks);
        store<f32>(out + (<usize>(t * rows + r) << 2), value);
      }
    }
    return;
  }
  if (kind == KIND_Q8_0 || kind == KIND_Q4_0) {
    prefillBlocks32(kind, w, rowBytes, out, rows, cols, n, r0, r1, scratch, scratchBytes);
    return;
  }
  const expandedBytes = expandedRowBytes(kind, cols);
  let perBlock = min32(scratchBytes, 128 * 1024) / expandedBytes;
  if (perBlock < 1) perBlock = 1;
  for (let start = r0; start < r1; start += perBlock) {
    const end = min32(start + perBlock, r1);
    for (let r = start; r < end; r++) {
      expandRow(kind, w + <usize>r * rowBytes, scratch + <usize>((r - start) * expandedBytes), cols);
    }
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      for (let r = start; r < end; r++) {
        row1x4(scratch + <usize>((r - start) * expandedBytes), cols, blockLen, t, out, rows, r);
      }
    }
    for (; t < n; t++) {
      for (let r = start; r < end; r++) {
        store<f32>(out + (<usize>(t * rows + r) << 2), row1x1(scratch + <usize>((r - start) * expandedBytes), cols, blockLen, t));
      }
    }
    if (kind == KIND_Q4_K) {
      for (let t = 0; t < n; t++) {
        for (let r = start; r < end; r++) {
          const o = out + (<usize>(t * rows + r) << 2);
          store<f32>(o, load<f32>(o) - minTerm(scratch + <usize>((r - start) * expandedBytes), cols, t));
        }
      }
    }
  }
}

/**
 * Q8_0 / Q4_0, fewer than 4 tokens, over the whole matrix's pairs: pair i is row i with row
 * i + ⌊rows/2⌋ (half the matrix apart, whatever share of it this call takes); pairs [i0, i1), and
 * the odd last row when i1 passes ⌊rows/2⌋. Each row takes rowSingle's steps (rowPair runs two).
 */
export function decodePairs(
  kind: i32, w: usize, xq: usize, xd: usize, out: usize, rows: i32, cols: i32, n: i32, i0: i32, i1: i32, scratch: usize,
): void {
  const blocks = cols >> 5;
  const rowBytes = <usize>(blocks * blockBytes(kind));
  xQ = xq; xD = xd;
  qStride = <usize>cols << 1;
  dStride = <usize>blocks << 2;
  const outStride = <usize>rows << 2;
  const half = rows >> 1;
  const apart = <usize>half * rowBytes;
  for (let r = i0; r < min32(i1, half); r++) {
    const row = w + <usize>r * rowBytes;
    for (let t = 0; t < n; t++) {
      const o = out + <usize>t * outStride + (<usize>r << 2);
      const o2 = o + (<usize>half << 2);
      if (kind == KIND_Q8_0) rowPairQ8_0(row, apart, qAt(t), dAt(t), blocks, scratch, o, o2);
      else rowPairQ4_0(row, apart, qAt(t), dAt(t), blocks, scratch, o, o2);
    }
  }
  if (i1 > half && (rows & 1) != 0) {
    const r = rows - 1;
    const row = w + <usize>r * rowBytes;
    for (let t = 0; t < n; t++) {
      const value = kind == KIND_Q8_0
        ? rowSingleQ8_0(row, qAt(t), dAt(t), blocks, scratch)
        : rowSingleQ4_0(row, qAt(t), dAt(t), blocks, scratch);
      store<f32>(out + <usize>t * outStride + (<usize>r << 2), value);
    }
  }
}

/**
 * Q8_0 / Q4_0, 4 or more tokens. This thread's scratch: 64 bytes of fence stores, then the
 * current four tokens' block scales side by side (16 bytes per block), then a block of expanded
 * rows (cols i16 + blocks f32 each) that every group of four tokens streams past.
 */
function prefillBlocks32(
  kind: i32, w: usize, rowBytes: usize, out: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32,
  scratch: usize, scratchBytes: i32,
): void {
  const blocks = cols >> 5;
  const outStride = <usize>rows << 2;
  const fence = scratch;
  const dx4 = scratch + 64;
  const rowsAt = dx4 + ((<usize>(blocks << 4) + 63) & ~63);
  const expandedBytes = (cols << 1) + (blocks << 2);
  const room = min32(scratchBytes - <i32>(rowsAt - scratch), 128 * 1024);
  // A scratch too small for the scales and one row (only for absurdly wide rows): one token at a time.
  const tiled = room >= expandedBytes;
  const rowArea = tiled ? rowsAt : scratch;
  let perBlock = (tiled ? room : scratchBytes) / expandedBytes;
  if (perBlock < 1) perBlock = 1;
  for (let start = r0; start < r1; start += perBlock) {
    const end = min32(start + perBlock, r1);
    for (let r = start; r < end; r++) {
      const to = rowArea + <usize>((r - start) * expandedBytes);
      const from = w + <usize>r * rowBytes;
      if (kind == KIND_Q8_0) decodeRowQ8_0(from, to, to + (<usize>cols << 1), blocks);
      else decodeRowQ4_0(from, to, to + (<usize>cols << 1), blocks);
    }
    let t = 0;
    if (tiled) {
      for (; t + 4 <= n; t += 4) {
        gatherScales4(dAt(t), dStride, blocks, dx4);
        for (let r = start; r < end; r++) {
          const row = rowArea + <usize>((r - start) * expandedBytes);
          expandedRow1x4(row, blocks, qAt(t), qStride, dx4, fence, out + <usize>t * outStride + (<usize>r << 2), outStride);
        }
      }
    }
    for (; t < n; t++) {
      for (let r = start; r < end; r++) {
        const row = rowArea + <usize>((r - start) * expandedBytes);
        store<f32>(out + <usize>t * outStride + (<usize>r << 2), expandedRow1x1(row, blocks, qAt(t), dAt(t)));
      }
    }
  }
}
