// Flash attention in f32x4, the structure of src/kernels/flash-attention.ts (read its header for
// the math): tiles of query rows (positions × the group of query heads sharing a KV head); keys
// stream past in blocks that start at absolute multiples of KEY_BLOCK. Each (row, block) is a
// partial softmax of its own — the block's max m_b, its weights p = e^(s − m_b), their sum s_b
// and Σp·v — merged into the row's running max, sum and accumulator block after block in key
// order (mergeBlock). A row's arithmetic depends only on its own position and the block
// boundaries, never on the tiling or on which call or thread computed a block, so prefill, chunked
// prefill and decode give bit-identical rows, and so does any split of the heads or, for decode,
// of the key blocks (flashDecodeBlocks + flashDecodeMerge: flash-decoding).
//
// Pointers are byte offsets. K/V rows are position-major, nKVHeads·headDim floats each; with a ring
// of `ringSlots` rows (0: dense) position p lives in row p mod ringSlots.

import { expF32, expF32x4, tanhF32x4 } from "./math";

export const QUERY_BLOCK: i32 = 16;
const KEY_BLOCK: i32 = 64;

const NEG_INF = memory.data<u32>([0xff800000, 0xff800000, 0xff800000, 0xff800000], 16);

/** Floats of one row's scores in scratch: a key block and the −∞ padding after it. */
const PROBS_STRIDE: i32 = KEY_BLOCK + 16;

/**
 * One (row, block) partial: max, sum, two floats of padding, then Σp·v (headDim floats), so the
 * vector part starts 16 bytes in.
 */
@inline
function partBytes(headDim: i32): usize {
  return <usize>(headDim + 4) << 2;
}

/** Scratch bytes flashAttention needs for these heads (no dependence on sequence length). */
export function flashScratchBytes(nHeads: i32, nKVHeads: i32, headDim: i32): i32 {
  const rows = QUERY_BLOCK * (nHeads / nKVHeads);
  // keys (KEY_BLOCK u32) | probs (rows × PROBS_STRIDE f32) | rowMax, rowSum (rows f32 each) |
  // acc (rows × headDim f32) | block partials (rows × partBytes)
  return ((KEY_BLOCK + rows * PROBS_STRIDE + 2 * rows + rows * headDim) << 2) + rows * <i32>partBytes(headDim);
}

/** Where each region of a flash scratch starts, for maxRows rows. */
@inline function probsOf(scratch: usize): usize { return scratch + (<usize>KEY_BLOCK << 2); }
@inline function rowMaxOf(scratch: usize, maxRows: i32): usize { return probsOf(scratch) + (<usize>(maxRows * PROBS_STRIDE) << 2); }
@inline function rowSumOf(scratch: usize, maxRows: i32): usize { return rowMaxOf(scratch, maxRows) + (<usize>maxRows << 2); }
@inline function accOf(scratch: usize, maxRows: i32): usize { return rowSumOf(scratch, maxRows) + (<usize>maxRows << 2); }
@inline function partsOf(scratch: usize, maxRows: i32, headDim: i32): usize { return accOf(scratch, maxRows) + (<usize>(maxRows * headDim) << 2); }

/** The start of the first key block a query at `pos` sees (window 0: none). */
@inline
function firstBlock(pos: i32, window: i32): i32 {
  const first = window == 0 ? 0 : max(0, pos - window + 1);
  return first - first % KEY_BLOCK;
}

/** Byte offsets of keys k0 .. k1 − 1 in the cache, at `keys`. */
@inline
function keyOffsets(keys: usize, k0: i32, k1: i32, ringSlots: i32, kvRowBytes: usize): void {
  let slot = ringSlots == 0 ? k0 : k0 % ringSlots;
  for (let j = k0; j < k1; j++) {
    store<u32>(keys + (<usize>(j - k0) << 2), <u32>(<usize>slot * kvRowBytes));
    if (++slot == ringSlots) slot = 0;
  }
}

/**
 * out (nQ, nHeads·headDim) = softmax(mask(scale·q·kᵀ)) v for the query heads of KV heads
 * [g0, g1). window 0: none; softCap 0: none (else s ← cap·tanh(s/cap) after scale).
 */
export function flashAttention(
  out: usize, q: usize, k: usize, v: usize, scratch: usize,
  nQ: i32, startPos: i32, nHeads: i32, nKVHeads: i32, headDim: i32,
  scale: f32, window: i32, softCap: f32, ringSlots: i32, g0: i32, g1: i32,
): void {
  const group = nHeads / nKVHeads;
  if (nQ == 1) {
    // Decode: every row sees the same keys; read each block key row after key row for all heads.
    flashDecode(out, q, k, v, scratch, startPos, nHeads, nKVHeads, headDim, scale, window, softCap, ringSlots, g0 * group, g1 * group);
    return;
  }
  const headBytes = <usize>headDim << 2;
  const qRowBytes = <usize>nHeads * headBytes;
  const kvRowBytes = <usize>nKVHeads * headBytes;
  const maxRows = QUERY_BLOCK * group;
  const keys = scratch, probs = probsOf(scratch);
  const rowMax = rowMaxOf(scratch, maxRows), rowSum = rowSumOf(scratch, maxRows);
  const acc = accOf(scratch, maxRows), part = partsOf(scratch, maxRows, headDim);

  // A tile is QUERY_BLOCK query positions of one KV head (× group query heads each), whose K/V
  // block stays in L1 while the tile's rows pass over it.
  for (let g = g0; g < g1; g++) {
    const headOffset = <usize>g * headBytes;
    for (let t0 = 0; t0 < nQ; t0 += QUERY_BLOCK) {
      const t1 = min(nQ, t0 + QUERY_BLOCK);
      const rows = (t1 - t0) * group; // row i is query t0 + i / group, head g·group + i % group
      for (let r = 0; r < rows; r++) {
        store<f32>(rowMax + (<usize>r << 2), -Infinity);
        store<f32>(rowSum + (<usize>r << 2), 0);
      }
      const keysEnd = startPos + t1;
      for (let k0 = firstBlock(startPos + t0, window); k0 < keysEnd; k0 += KEY_BLOCK) {
        const k1 = min(keysEnd, k0 + KEY_BLOCK);
        keyOffsets(keys, k0, k1, ringSlots, kvRowBytes);
        for (let i = 0; i < rows; i++) {
          const t = t0 + i / group;
          const pos = startPos + t;
          const lo = window == 0 ? k0 : max(k0, pos - window + 1);
          const hi = min(k1, pos + 1);
          if (lo >= hi) continue;
          const qRow = q + <usize>t * qRowBytes + <usize>(g * group + i % group) * headBytes;
          attendBlock(
            qRow, k + headOffset, v + headOffset, keys + (<usize>(lo - k0) << 2), hi - lo, probs, part,
            acc + <usize>i * headBytes, rowMax + (<usize>i << 2), rowSum + (<usize>i << 2), headDim, scale, softCap,
          );
        }
      }
      for (let i = 0; i < rows; i++) {
        const o = out + <usize>(t0 + i / group) * qRowBytes + <usize>(g * group + i % group) * headBytes;
        scaleRow(o, acc + <usize>i * headBytes, <f32>1 / load<f32>(rowSum + (<usize>i << 2)), headDim);
      }
    }
  }
}

/** Key blocks a decode at startPos reads (the first may start before the window). */
export function decodeBlockCount(startPos: i32, window: i32): i32 {
  return (startPos - firstBlock(startPos, window)) / KEY_BLOCK + 1;
}

/**
 * Decode (one query position) for query heads [qa, qb) only — a run that may cut through a KV
 * head's group. Each row takes the steps it takes in flashAttention, so it comes out bit-identical.
 */
export function flashDecode(
  out: usize, q: usize, k: usize, v: usize, scratch: usize,
  startPos: i32, nHeads: i32, nKVHeads: i32, headDim: i32,
  scale: f32, window: i32, softCap: f32, ringSlots: i32, qa: i32, qb: i32,
): void {
  const group = nHeads / nKVHeads;
  const headBytes = <usize>headDim << 2;
  const maxRows = QUERY_BLOCK * group;
  const rowMax = rowMaxOf(scratch, maxRows), rowSum = rowSumOf(scratch, maxRows);
  const acc = accOf(scratch, maxRows), parts = partsOf(scratch, maxRows, headDim);
  const stride = partBytes(headDim);
  const blocks = decodeBlockCount(startPos, window);
  for (let h = qa; h < qb; h += maxRows) {
    const rows = min(qb - h, maxRows);
    for (let r = 0; r < rows; r++) {
      store<f32>(rowMax + (<usize>r << 2), -Infinity);
      store<f32>(rowSum + (<usize>r << 2), 0);
    }
    for (let b = 0; b < blocks; b++) {
      decodeBlockAt(parts, stride, b, q, k, v, scratch, startPos, nHeads, nKVHeads, headDim, scale, window, softCap, ringSlots, h, rows);
      for (let r = 0; r < rows; r++) {
        const p = parts + <usize>r * stride;
        mergeBlock(acc + <usize>r * headBytes, p + 16, rowMax + (<usize>r << 2), rowSum + (<usize>r << 2), load<f32>(p), load<f32>(p, 4), headDim);
      }
    }
    for (let r = 0; r < rows; r++) {
      scaleRow(out + <usize>(h + r) * headBytes, acc + <usize>r * headBytes, <f32>1 / load<f32>(rowSum + (<usize>r << 2)), headDim);
    }
  }
}

/**
 * Flash-decoding, first half: the partials of key blocks [b0, b1) (counted from the first block
 * the query sees) for query heads [qa, qb), into `partials`: block b, head h at
 * partials + (b · nHeads + h) · partBytes(headDim). Any thread may compute any block.
 */
export function flashDecodeBlocks(
  partials: usize, q: usize, k: usize, v: usize, scratch: usize,
  startPos: i32, nHeads: i32, nKVHeads: i32, headDim: i32,
  scale: f32, window: i32, softCap: f32, ringSlots: i32, qa: i32, qb: i32, b0: i32, b1: i32,
): void {
  const maxRows = QUERY_BLOCK * (nHeads / nKVHeads);
  const stride = partBytes(headDim);
  for (let b = b0; b < b1; b++) {
    for (let h = qa; h < qb; h += maxRows) {
      const at = partials + <usize>(b * nHeads + h) * stride;
      decodeBlockAt(at, stride, b, q, k, v, scratch, startPos, nHeads, nKVHeads, headDim, scale, window, softCap, ringSlots, h, min(qb - h, maxRows));
    }
  }
}

/**
 * Flash-decoding, second half: merges each head's block partials in key order, as flashDecode
 * does on the fly, and writes out (nHeads · headDim). `scratch`: a flash scratch.
 */
export function flashDecodeMerge(
  out: usize, partials: usize, scratch: usize, startPos: i32, nHeads: i32, nKVHeads: i32, headDim: i32, window: i32,
): void {
  const maxRows = QUERY_BLOCK * (nHeads / nKVHeads);
  const headBytes = <usize>headDim << 2;
  const stride = partBytes(headDim);
  const blocks = decodeBlockCount(startPos, window);
  const maxAt = rowMaxOf(scratch, maxRows), sumAt = rowSumOf(scratch, maxRows), acc = accOf(scratch, maxRows);
  for (let h = 0; h < nHeads; h++) {
    store<f32>(maxAt, -Infinity);
    store<f32>(sumAt, 0);
    for (let b = 0; b < blocks; b++) {
      const p = partials + <usize>(b * nHeads + h) * stride;
      mergeBlock(acc, p + 16, maxAt, sumAt, load<f32>(p), load<f32>(p, 4), headDim);
    }
    scaleRow(out + <usize>h * headBytes, acc, <f32>1 / load<f32>(sumAt), headDim);
  }
}

/**
 * The partials of decode block b (counted from the first block the query sees) for query heads
 * h .. h + rows − 1, row r at parts + r · stride.
 */
@inline
function decodeBlockAt(
  parts: usize, stride: usize, b: i32, q: usize, k: usize, v: usize, scratch: usize,
  startPos: i32, nHeads: i32, nKVHeads: i32, headDim: i32,
  scale: f32, window: i32, softCap: f32, ringSlots: i32, h: i32, rows: i32,
): void {
  const group = nHeads / nKVHeads;
  const k0 = firstBlock(startPos, window) + b * KEY_BLOCK;
  const k1 = min(startPos + 1, k0 + KEY_BLOCK);
  const keys = scratch;
  keyOffsets(keys, k0, k1, ringSlots, <usize>nKVHeads * (<usize>headDim << 2));
  const lo = window == 0 ? k0 : max(k0, startPos - window + 1);
  decodeBlock(q, k, v, keys + (<usize>(lo - k0) << 2), k1 - lo, probsOf(scratch), parts, stride, h, rows, group, headDim, scale, softCap);
}

/**
 * One row's block (prefill): scores, the block's own softmax weights, Σp·v into `part` (headDim
 * floats of scratch), merged into the row's running acc, max and sum.
 */
@inline
function attendBlock(
  qRow: usize, k: usize, v: usize, keys: usize, count: i32, probs: usize, part: usize,
  acc: usize, maxAt: usize, sumAt: usize, headDim: i32, scale: f32, softCap: f32,
): void {
  const scoreMax = scoreKeys(qRow, k, keys, count, probs, headDim, scale);
  const blockMax = softCap == 0 ? scoreMax : capScores(probs, count, softCap);
  const blockSum = blockWeights(probs, count, blockMax);
  memory.fill(part, 0, <usize>headDim << 2);
  accumulateValues(v, keys, count, probs, part, headDim);
  mergeBlock(acc, part, maxAt, sumAt, blockMax, blockSum, headDim);
}

/** s ← cap·tanh(s/cap) over the count scores at probs; returns their new max. */
@inline
function capScores(probs: usize, count: i32, softCap: f32): f32 {
  const padded = (count + 15) & ~15;
  padNegInf(probs + (<usize>count << 2));
  const capV = f32x4.splat(softCap);
  let maxV = v128.load(NEG_INF);
  for (let i = 0; i < padded; i += 4) {
    const p = probs + (<usize>i << 2);
    const s = f32x4.mul(capV, tanhF32x4(f32x4.div(v128.load(p), capV)));
    v128.store(p, s);
    maxV = f32x4.pmax(maxV, s);
  }
  return maxLane(maxV);
}

/**
 * The block's scores (count of them, max blockMax) become its own softmax weights e^(s − blockMax),
 * in place; returns their sum.
 */
@inline
function blockWeights(probs: usize, count: i32, blockMax: f32): f32 {
  // Up to 16 values past count become −∞, so they weigh 0 below.
  const padded = (count + 15) & ~15;
  padNegInf(probs + (<usize>count << 2));
  // Four vectors per pass: each exp is a long dependent chain, and independent ones overlap.
  const maxV4 = f32x4.splat(blockMax);
  let sumV = f32x4.splat(0);
  for (let i = 0; i < padded; i += 16) {
    const p = probs + (<usize>i << 2);
    const e0 = expF32x4(f32x4.sub(v128.load(p), maxV4));
    const e1 = expF32x4(f32x4.sub(v128.load(p, 16), maxV4));
    const e2 = expF32x4(f32x4.sub(v128.load(p, 32), maxV4));
    const e3 = expF32x4(f32x4.sub(v128.load(p, 48), maxV4));
    v128.store(p, e0);
    v128.store(p, e1, 16);
    v128.store(p, e2, 32);
    v128.store(p, e3, 48);
    sumV = f32x4.add(f32x4.add(f32x4.add(f32x4.add(sumV, e0), e1), e2), e3);
  }
  return (f32x4.extract_lane(sumV, 0) + f32x4.extract_lane(sumV, 2)) + (f32x4.extract_lane(sumV, 1) + f32x4.extract_lane(sumV, 3));
}

/**
 * Merges a block's partial (Σp·v at part, its max and sum) into a row's running acc, max and sum:
 * both rescaled to the larger max, m = max(M, m_b): acc·e^(M − m) + part·e^(m_b − m). The first
 * block is copied. A factor e^0 is skipped: multiplying by exactly 1 changes no bit.
 */
@inline
function mergeBlock(acc: usize, part: usize, maxAt: usize, sumAt: usize, blockMax: f32, blockSum: f32, headDim: i32): void {
  const oldMax = load<f32>(maxAt);
  const bytes = <usize>headDim << 2;
  if (oldMax == -Infinity) {
    memory.copy(acc, part, bytes);
    store<f32>(maxAt, blockMax);
    store<f32>(sumAt, blockSum);
    return;
  }
  const newMax = blockMax > oldMax ? blockMax : oldMax;
  const keep: f32 = oldMax == newMax ? 1 : expF32(oldMax - newMax);
  const take: f32 = blockMax == newMax ? 1 : expF32(blockMax - newMax);
  store<f32>(maxAt, newMax);
  store<f32>(sumAt, load<f32>(sumAt) * keep + blockSum * take);
  const vecBytes = <usize>(headDim & ~3) << 2;
  const keepV = f32x4.splat(keep), takeV = f32x4.splat(take);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    v128.store(acc + o, f32x4.add(f32x4.mul(v128.load(acc + o), keepV), f32x4.mul(v128.load(part + o), takeV)));
  }
  for (; o < bytes; o += 4) store<f32>(acc + o, load<f32>(acc + o) * keep + load<f32>(part + o) * take);
}

/**
 * One block of one query position (decode) for query heads qa .. qa + rows − 1 (row r for head
 * qa + r, of KV head (qa + r) / group): each row's partial — max, sum, Σp·v — at parts + r · stride.
 * Each row takes exactly attendBlock's steps (a key's score does not depend on which keys share
 * its pass; the value groups are accumulateValues'), but the loops over keys are outside the loops
 * over rows, and the keys that share a pass are far apart: four keys a quarter of the block apart
 * for the scores, eight keys an eighth apart for the values. Each key row is then read front to
 * back by its own stream; neighbouring key rows read side by side came from memory at ~60% of the
 * speed (a GPT-2 token's 12 layers at 512 positions, one thread: 2.6 → 1.6 ms).
 */
@inline
function decodeBlock(
  q: usize, k: usize, v: usize, keys: usize, count: i32, probs: usize, parts: usize, stride: usize,
  qa: i32, rows: i32, group: i32, headDim: i32, scale: f32, softCap: f32,
): void {
  const headBytes = <usize>headDim << 2;
  // Scores, four keys at a time for every row; each row's block max (max is exact: any order).
  for (let r = 0; r < rows; r++) store<f32>(probs + (<usize>(r * PROBS_STRIDE) << 2), -Infinity, (KEY_BLOCK + 8) << 2);
  const quarter = count >> 2;
  for (let j = 0; j < quarter; j++) {
    for (let r = 0; r < rows; r++) {
      const g = (qa + r) / group;
      const rowProbs = probs + (<usize>(r * PROBS_STRIDE) << 2);
      const m = scoreKeysApart(q + <usize>(qa + r) * headBytes, k + <usize>g * headBytes, keys, j, quarter, rowProbs, headDim, scale);
      const at = rowProbs + (<usize>(KEY_BLOCK + 8) << 2); // the row's running block max, in its padding
      if (m > load<f32>(at)) store<f32>(at, m);
    }
  }
  if (quarter << 2 < count) {
    const first = quarter << 2;
    for (let r = 0; r < rows; r++) {
      const g = (qa + r) / group;
      const rowProbs = probs + (<usize>(r * PROBS_STRIDE) << 2);
      const m = scoreKeys(q + <usize>(qa + r) * headBytes, k + <usize>g * headBytes, keys + (<usize>first << 2), count - first, rowProbs + (<usize>first << 2), headDim, scale);
      const at = rowProbs + (<usize>(KEY_BLOCK + 8) << 2);
      if (m > load<f32>(at)) store<f32>(at, m);
    }
  }
  for (let r = 0; r < rows; r++) {
    const rowProbs = probs + (<usize>(r * PROBS_STRIDE) << 2);
    const part = parts + <usize>r * stride;
    const scoreMax = load<f32>(rowProbs + (<usize>(KEY_BLOCK + 8) << 2));
    const blockMax = softCap == 0 ? scoreMax : capScores(rowProbs, count, softCap);
    store<f32>(part, blockMax);
    store<f32>(part, blockWeights(rowProbs, count, blockMax), 4);
    memory.fill(part + 16, 0, headBytes);
  }
  // Values: accumulateValues' groups, each for every row, then each row's leftover keys.
  const eighth = count >> 3;
  for (let j = 0; j < eighth; j++) {
    for (let r = 0; r < rows; r++) {
      const g = (qa + r) / group;
      accumulateGroup(v + <usize>g * headBytes, keys, j, eighth, probs + (<usize>(r * PROBS_STRIDE) << 2), parts + <usize>r * stride + 16, headDim);
    }
  }
  if (eighth << 3 < count) {
    const first = eighth << 3;
    for (let r = 0; r < rows; r++) {
      const g = (qa + r) / group;
      accumulateSingles(v + <usize>g * headBytes, keys, first, count, probs + (<usize>(r * PROBS_STRIDE) << 2), parts + <usize>r * stride + 16, headDim);
    }
  }
}

/**
 * scoreKeys' four-key pass for keys j, j + apart, j + 2·apart, j + 3·apart (indices into keys and
 * probs): the same score for each key, bit for bit. Returns the four scores' max.
 */
@inline
function scoreKeysApart(qRow: usize, k: usize, keys: usize, j: i32, apart: i32, probs: usize, headDim: i32, scale: f32): f32 {
  const step = <usize>apart << 2;
  const at = <usize>j << 2;
  const ka = k + <usize>load<u32>(keys + at);
  const kb = k + <usize>load<u32>(keys + at + step);
  const kc = k + <usize>load<u32>(keys + at + 2 * step);
  const kd = k + <usize>load<u32>(keys + at + 3 * step);
  const scores = f32x4.mul(dots4(qRow, ka, kb, kc, kd, headDim), f32x4.splat(scale));
  store<f32>(probs + at, f32x4.extract_lane(scores, 0));
  store<f32>(probs + at + step, f32x4.extract_lane(scores, 1));
  store<f32>(probs + at + 2 * step, f32x4.extract_lane(scores, 2));
  store<f32>(probs + at + 3 * step, f32x4.extract_lane(scores, 3));
  return maxLane(scores);
}

/**
 * q·k for four keys at once, sharing each load of q: one f32x4 accumulator per key over the vector
 * part, lane sums by a 4 × 4 transpose (each (l0 + l2) + (l1 + l3), as in laneSum), then the
 * headDim mod 4 values past it.
 */
@inline
function dots4(qRow: usize, ka: usize, kb: usize, kc: usize, kd: usize, headDim: i32): v128 {
  const vecBytes = <usize>(headDim & ~3) << 2;
  let a = f32x4.splat(0), b = a, c = a, d = a;
  for (let o: usize = 0; o < vecBytes; o += 16) {
    const qv = v128.load(qRow + o);
    a = f32x4.add(a, f32x4.mul(qv, v128.load(ka + o)));
    b = f32x4.add(b, f32x4.mul(qv, v128.load(kb + o)));
    c = f32x4.add(c, f32x4.mul(qv, v128.load(kc + o)));
    d = f32x4.add(d, f32x4.mul(qv, v128.load(kd + o)));
  }
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  let dots = f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
  if (<i32>vecBytes < (headDim << 2)) {
    dots = f32x4.replace_lane(dots, 0, f32x4.extract_lane(dots, 0) + tailDot(qRow, ka, vecBytes, headDim));
    dots = f32x4.replace_lane(dots, 1, f32x4.extract_lane(dots, 1) + tailDot(qRow, kb, vecBytes, headDim));
    dots = f32x4.replace_lane(dots, 2, f32x4.extract_lane(dots, 2) + tailDot(qRow, kc, vecBytes, headDim));
    dots = f32x4.replace_lane(dots, 3, f32x4.extract_lane(dots, 3) + tailDot(qRow, kd, vecBytes, headDim));
  }
  return dots;
}

/**
 * probs[j] = scale·(q·k_j) for the count keys, four keys per pass sharing each load of q; returns
 * their max.
 */
@inline
function scoreKeys(qRow: usize, k: usize, keys: usize, count: i32, probs: usize, headDim: i32, scale: f32): f32 {
  const vecBytes = <usize>(headDim & ~3) << 2;
  const scaleV = f32x4.splat(scale);
  let maxV = v128.load(NEG_INF);
  let j = 0;
  for (; j + 4 <= count; j += 4) {
    const ka = k + <usize>load<u32>(keys + (<usize>j << 2));
    const kb = k + <usize>load<u32>(keys + (<usize>j << 2), 4);
    const kc = k + <usize>load<u32>(keys + (<usize>j << 2), 8);
    const kd = k + <usize>load<u32>(keys + (<usize>j << 2), 12);
    const scores = f32x4.mul(dots4(qRow, ka, kb, kc, kd, headDim), scaleV);
    v128.store(probs + (<usize>j << 2), scores);
    maxV = f32x4.pmax(maxV, scores);
  }
  let blockMax = maxLane(maxV);
  for (; j < count; j++) {
    const ka = k + <usize>load<u32>(keys + (<usize>j << 2));
    let a = f32x4.splat(0);
    for (let o: usize = 0; o < vecBytes; o += 16) a = f32x4.add(a, f32x4.mul(v128.load(qRow + o), v128.load(ka + o)));
    let dot = laneSum(a);
    if (<i32>vecBytes < (headDim << 2)) dot += tailDot(qRow, ka, vecBytes, headDim);
    const score = dot * scale;
    store<f32>(probs + (<usize>j << 2), score);
    if (score > blockMax) blockMax = score;
  }
  return blockMax;
}

/** −∞ into the 16 floats at p. */
@inline
function padNegInf(p: usize): void {
  const inf = v128.load(NEG_INF);
  v128.store(p, inf);
  v128.store(p, inf, 16);
  v128.store(p, inf, 32);
  v128.store(p, inf, 48);
}

/** The largest of four lanes. */
@inline
function maxLane(v: v128): f32 {
  const m = f32x4.pmax(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

/** (l0 + l2) + (l1 + l3): the order scoreKeys' transpose adds lanes in. */
@inline
function laneSum(a: v128): f32 {
  return (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 2)) + (f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 3));
}

/** Σ q[i]·k[i] over the headDim mod 4 values past the vector part. */
@inline
function tailDot(qRow: usize, kRow: usize, from: usize, headDim: i32): f32 {
  let s: f32 = 0;
  for (let o = from; o < (<usize>headDim << 2); o += 4) s += load<f32>(qRow + o) * load<f32>(kRow + o);
  return s;
}

/**
 * acc += Σ_j probs[j]·v_j over the count keys: eight keys per pass, so acc is loaded and stored once
 * per eight. Pass j (j < ⌊count/8⌋) takes keys j + i·⌊count/8⌋, i = 0..7 — far apart, see
 * decodeBlock, which runs the same passes row by row — then the keys past 8·⌊count/8⌋ one by one.
 */
@inline
function accumulateValues(v: usize, keys: usize, count: i32, probs: usize, acc: usize, headDim: i32): void {
  const eighth = count >> 3;
  for (let j = 0; j < eighth; j++) accumulateGroup(v, keys, j, eighth, probs, acc, headDim);
  accumulateSingles(v, keys, eighth << 3, count, probs, acc, headDim);
}

/** acc += Σ_i probs[j + i·apart]·v_(j + i·apart) over i = 0..7, summed ((0+1)+(2+3))+((4+5)+(6+7)). */
@inline
function accumulateGroup(v: usize, keys: usize, j: i32, apart: i32, probs: usize, acc: usize, headDim: i32): void {
  const bytes = <usize>headDim << 2;
  const vecBytes = <usize>(headDim & ~3) << 2;
  const step = <usize>apart << 2;
  const kp = keys + (<usize>j << 2);
  const pp = probs + (<usize>j << 2);
  const v0 = v + <usize>load<u32>(kp), v1 = v + <usize>load<u32>(kp + step);
  const v2 = v + <usize>load<u32>(kp + 2 * step), v3 = v + <usize>load<u32>(kp + 3 * step);
  const v4 = v + <usize>load<u32>(kp + 4 * step), v5 = v + <usize>load<u32>(kp + 5 * step);
  const v6 = v + <usize>load<u32>(kp + 6 * step), v7 = v + <usize>load<u32>(kp + 7 * step);
  const p0 = v128.load32_splat(pp), p1 = v128.load32_splat(pp + step);
  const p2 = v128.load32_splat(pp + 2 * step), p3 = v128.load32_splat(pp + 3 * step);
  const p4 = v128.load32_splat(pp + 4 * step), p5 = v128.load32_splat(pp + 5 * step);
  const p6 = v128.load32_splat(pp + 6 * step), p7 = v128.load32_splat(pp + 7 * step);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    const s01 = f32x4.add(f32x4.mul(p0, v128.load(v0 + o)), f32x4.mul(p1, v128.load(v1 + o)));
    const s23 = f32x4.add(f32x4.mul(p2, v128.load(v2 + o)), f32x4.mul(p3, v128.load(v3 + o)));
    const s45 = f32x4.add(f32x4.mul(p4, v128.load(v4 + o)), f32x4.mul(p5, v128.load(v5 + o)));
    const s67 = f32x4.add(f32x4.mul(p6, v128.load(v6 + o)), f32x4.mul(p7, v128.load(v7 + o)));
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.add(f32x4.add(s01, s23), f32x4.add(s45, s67))));
  }
  for (; o < bytes; o += 4) {
    const s01 = f32x4.extract_lane(p0, 0) * load<f32>(v0 + o) + f32x4.extract_lane(p1, 0) * load<f32>(v1 + o);
    const s23 = f32x4.extract_lane(p2, 0) * load<f32>(v2 + o) + f32x4.extract_lane(p3, 0) * load<f32>(v3 + o);
    const s45 = f32x4.extract_lane(p4, 0) * load<f32>(v4 + o) + f32x4.extract_lane(p5, 0) * load<f32>(v5 + o);
    const s67 = f32x4.extract_lane(p6, 0) * load<f32>(v6 + o) + f32x4.extract_lane(p7, 0) * load<f32>(v7 + o);
    store<f32>(acc + o, load<f32>(acc + o) + ((s01 + s23) + (s45 + s67)));
  }
}

/** acc += probs[j]·v_j for keys j = first .. count − 1, one at a time. */
@inline
function accumulateSingles(v: usize, keys: usize, first: i32, count: i32, probs: usize, acc: usize, headDim: i32): void {
  const bytes = <usize>headDim << 2;
  const vecBytes = <usize>(headDim & ~3) << 2;
  for (let j = first; j < count; j++) {
    const vj = v + <usize>load<u32>(keys + (<usize>j << 2));
    const pj = v128.load32_splat(probs + (<usize>j << 2));
    let o: usize = 0;
    for (; o < vecBytes; o += 16) v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(pj, v128.load(vj + o))));
    for (; o < bytes; o += 4) store<f32>(acc + o, load<f32>(acc + o) + f32x4.extract_lane(pj, 0) * load<f32>(vj + o));
  }
}

/** dst = src·factor over headDim floats (dst may be src). */
@inline
function scaleRow(dst: usize, src: usize, factor: f32, headDim: i32): void {
  const bytes = <usize>headDim << 2;
  const vecBytes = <usize>(headDim & ~3) << 2;
  const f = f32x4.splat(factor);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) v128.store(dst + o, f32x4.mul(v128.load(src + o), f));
  for (; o < bytes; o += 4) store<f32>(dst + o, load<f32>(src + o) * factor);
}

/** e^x through the kernels' own exp (exported for tests). */
export function kernelExp(x: f32): f32 {
  return expF32(x);
}

/** tanh through the kernels' own tanh (exported for tests). */
export function kernelTanh(x: f32): f32 {
  return f32x4.extract_lane(tanhF32x4(f32x4.splat(x)), 0);
}
