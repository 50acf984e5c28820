// Flash attention in f32x4, the structure of src/kernels/flash-attention.ts (read its header for
// the math): tiles of query rows (positions × the group of query heads sharing a KV head); keys
// stream past in blocks that start at absolute multiples of KEY_BLOCK; each query row keeps an online softmax
// (running max, running Σp, running Σp·v). A row's arithmetic depends only on its own position and
// the block boundaries, never on the tiling or on which call computed it, so prefill, chunked
// prefill and decode give bit-identical rows, and so does any split of the KV heads.
//
// Pointers are byte offsets. K/V rows are position-major, nKVHeads·headDim floats each; with a ring
// of `ringSlots` rows (0: dense) position p lives in row p mod ringSlots.

import { expF32, expF32x4, tanhF32x4 } from "./math";

export const QUERY_BLOCK: i32 = 16;
const KEY_BLOCK: i32 = 64;

const NEG_INF = memory.data<u32>([0xff800000, 0xff800000, 0xff800000, 0xff800000], 16);

/** Scratch bytes flashAttention needs for these heads (no dependence on sequence length). */
export function flashScratchBytes(nHeads: i32, nKVHeads: i32, headDim: i32): i32 {
  const rows = QUERY_BLOCK * (nHeads / nKVHeads);
  // keys (KEY_BLOCK u32) | probs (rows × (KEY_BLOCK + 16) f32: one per row, for decode) |
  // rowMax, rowSum (rows f32 each) | acc (rows × headDim f32)
  return (KEY_BLOCK + rows * PROBS_STRIDE + 2 * rows + rows * headDim) << 2;
}

/** Floats of one row's scores in scratch: a key block and the −∞ padding after it. */
const PROBS_STRIDE: i32 = KEY_BLOCK + 16;

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
  const headBytes = <usize>headDim << 2;
  const qRowBytes = <usize>nHeads * headBytes;
  const kvRowBytes = <usize>nKVHeads * headBytes;
  const maxRows = QUERY_BLOCK * group;
  const keys = scratch;
  const probs = keys + (<usize>KEY_BLOCK << 2);
  const rowMax = probs + (<usize>(maxRows * PROBS_STRIDE) << 2);
  const rowSum = rowMax + (<usize>maxRows << 2);
  const acc = rowSum + (<usize>maxRows << 2);

  // A tile is tileQ query positions × tileHeads KV heads (× group query heads each), at most
  // QUERY_BLOCK × group rows. Prefill takes QUERY_BLOCK positions of one KV head, whose K/V block
  // stays in L1; decode takes up to QUERY_BLOCK KV heads of its one position, so each key block is
  // read row after row (all heads of a position are adjacent) instead of one head's slice per pass.
  const tileQ = min(nQ, QUERY_BLOCK);
  const tileHeads = QUERY_BLOCK / tileQ;
  for (let h0 = g0; h0 < g1; h0 += tileHeads) {
    const h1 = min(g1, h0 + tileHeads);
    for (let t0 = 0; t0 < nQ; t0 += tileQ) {
      const t1 = min(nQ, t0 + tileQ);
      const headRows = (t1 - t0) * group; // per KV head g: row (g − h0)·headRows + i is query t0 + i / group, head g·group + i % group
      const rows = headRows * (h1 - h0);
      for (let r = 0; r < rows; r++) {
        store<f32>(rowMax + (<usize>r << 2), -Infinity);
        store<f32>(rowSum + (<usize>r << 2), 0);
      }
      memory.fill(acc, 0, <usize>rows * headBytes);

      const keysFirst = window == 0 ? 0 : max(0, startPos + t0 - window + 1);
      const keysEnd = startPos + t1;
      for (let k0 = keysFirst - keysFirst % KEY_BLOCK; k0 < keysEnd; k0 += KEY_BLOCK) {
        const k1 = min(keysEnd, k0 + KEY_BLOCK);
        // Where each key of the block lives (the same for every row and head of the tile).
        let slot = ringSlots == 0 ? k0 : k0 % ringSlots;
        for (let j = k0; j < k1; j++) {
          store<u32>(keys + (<usize>(j - k0) << 2), <u32>(<usize>slot * kvRowBytes));
          if (++slot == ringSlots) slot = 0;
        }
        if (nQ == 1) {
          // Decode: every row sees the same keys; read the block key row after key row for all heads.
          const lo = window == 0 ? k0 : max(k0, startPos - window + 1);
          const hi = min(k1, startPos + 1);
          if (lo < hi) {
            decodeBlock(
              q, k, v, keys + (<usize>(lo - k0) << 2), hi - lo, probs, acc, rowMax, rowSum,
              h0 * group, rows, group, headDim, scale, softCap,
            );
          }
          continue;
        }
        for (let g = h0; g < h1; g++) {
          const headOffset = <usize>g * headBytes;
          for (let i = 0; i < headRows; i++) {
            const t = t0 + i / group;
            const pos = startPos + t;
            const lo = window == 0 ? k0 : max(k0, pos - window + 1);
            const hi = min(k1, pos + 1);
            if (lo >= hi) continue;
            const r = (g - h0) * headRows + i;
            const qRow = q + <usize>t * qRowBytes + <usize>(g * group + i % group) * headBytes;
            attendBlock(
              qRow, k + headOffset, v + headOffset, keys + (<usize>(lo - k0) << 2), hi - lo, probs,
              acc + <usize>r * headBytes, rowMax + (<usize>r << 2), rowSum + (<usize>r << 2), headDim, scale, softCap,
            );
          }
        }
      }

      for (let g = h0; g < h1; g++) {
        for (let i = 0; i < headRows; i++) {
          const r = (g - h0) * headRows + i;
          const o = out + <usize>(t0 + i / group) * qRowBytes + <usize>(g * group + i % group) * headBytes;
          scaleRow(o, acc + <usize>r * headBytes, <f32>1 / load<f32>(rowSum + (<usize>r << 2)), headDim);
        }
      }
    }
  }
}

/**
 * Decode (one query position) for query heads [qa, qb) only — a run that may cut through a KV
 * head's group, so two threads can share a GQA model's few KV heads evenly. Each row takes the
 * steps it takes in flashAttention, so it comes out bit-identical.
 */
export function flashDecode(
  out: usize, q: usize, k: usize, v: usize, scratch: usize,
  startPos: i32, nHeads: i32, nKVHeads: i32, headDim: i32,
  scale: f32, window: i32, softCap: f32, ringSlots: i32, qa: i32, qb: i32,
): void {
  const group = nHeads / nKVHeads;
  const headBytes = <usize>headDim << 2;
  const kvRowBytes = <usize>nKVHeads * headBytes;
  const maxRows = QUERY_BLOCK * group;
  const keys = scratch;
  const probs = keys + (<usize>KEY_BLOCK << 2);
  const rowMax = probs + (<usize>(maxRows * PROBS_STRIDE) << 2);
  const rowSum = rowMax + (<usize>maxRows << 2);
  const acc = rowSum + (<usize>maxRows << 2);
  for (let h = qa; h < qb; h += maxRows) {
    const rows = min(qb - h, maxRows);
    for (let r = 0; r < rows; r++) {
      store<f32>(rowMax + (<usize>r << 2), -Infinity);
      store<f32>(rowSum + (<usize>r << 2), 0);
    }
    memory.fill(acc, 0, <usize>rows * headBytes);
    const keysFirst = window == 0 ? 0 : max(0, startPos - window + 1);
    const keysEnd = startPos + 1;
    for (let k0 = keysFirst - keysFirst % KEY_BLOCK; k0 < keysEnd; k0 += KEY_BLOCK) {
      const k1 = min(keysEnd, k0 + KEY_BLOCK);
      let slot = ringSlots == 0 ? k0 : k0 % ringSlots;
      for (let j = k0; j < k1; j++) {
        store<u32>(keys + (<usize>(j - k0) << 2), <u32>(<usize>slot * kvRowBytes));
        if (++slot == ringSlots) slot = 0;
      }
      const lo = window == 0 ? k0 : max(k0, startPos - window + 1);
      if (lo < k1) decodeBlock(q, k, v, keys + (<usize>(lo - k0) << 2), k1 - lo, probs, acc, rowMax, rowSum, h, rows, group, headDim, scale, softCap);
    }
    for (let r = 0; r < rows; r++) {
      scaleRow(out + <usize>(h + r) * headBytes, acc + <usize>r * headBytes, <f32>1 / load<f32>(rowSum + (<usize>r << 2)), headDim);
    }
  }
}

/** One query row against `count` keys (byte offsets at `keys`): scores, online softmax, Σp·v. */
@inline
function attendBlock(
  qRow: usize, k: usize, v: usize, keys: usize, count: i32, probs: usize,
  acc: usize, maxAt: usize, sumAt: usize, headDim: i32, scale: f32, softCap: f32,
): void {
  const blockMax = scoreKeys(qRow, k, keys, count, probs, headDim, scale);
  softmaxBlock(probs, count, blockMax, acc, maxAt, sumAt, headDim, softCap);
  accumulateValues(v, keys, count, probs, acc, headDim);
}

/**
 * The block's scores (probs, count of them, their max blockMax) become its softmax weights
 * exp(s − m) under the row's new running max m; the running sum and acc are rescaled to m.
 */
@inline
function softmaxBlock(probs: usize, count: i32, blockMax: f32, acc: usize, maxAt: usize, sumAt: usize, headDim: i32, softCap: f32): void {
  // Up to 16 values past count become −∞, so they weigh 0 below.
  const padded = (count + 15) & ~15;
  padNegInf(probs + (<usize>count << 2));
  if (softCap != 0) {
    const capV = f32x4.splat(softCap);
    let maxV = v128.load(NEG_INF);
    for (let i = 0; i < padded; i += 4) {
      const p = probs + (<usize>i << 2);
      const s = f32x4.mul(capV, tanhF32x4(f32x4.div(v128.load(p), capV)));
      v128.store(p, s);
      maxV = f32x4.pmax(maxV, s);
    }
    blockMax = maxLane(maxV);
    padNegInf(probs + (<usize>count << 2));
  }

  // Online softmax: rescale what was accumulated under the old max, then add this block.
  const oldMax = load<f32>(maxAt);
  const newMax = blockMax > oldMax ? blockMax : oldMax;
  let sum = load<f32>(sumAt);
  if (newMax != oldMax) {
    const correction = expF32(oldMax - newMax); // 0 on the first block (oldMax = −∞)
    sum *= correction;
    scaleRow(acc, acc, correction, headDim);
  }
  // Four vectors per pass: each exp is a long dependent chain, and independent ones overlap.
  const maxV4 = f32x4.splat(newMax);
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
  sum += (f32x4.extract_lane(sumV, 0) + f32x4.extract_lane(sumV, 2)) + (f32x4.extract_lane(sumV, 1) + f32x4.extract_lane(sumV, 3));
  store<f32>(maxAt, newMax);
  store<f32>(sumAt, sum);
}

/**
 * attendBlock for the rows of one query position (decode): query heads qa .. qa + rows − 1, row r
 * for head qa + r (of KV head (qa + r) / group). Each row takes exactly attendBlock's steps (a
 * key's score does not depend on which keys share its pass; the value groups are
 * accumulateValues'), but the loops over keys are outside the loops over rows, and the keys that
 * share a pass are far apart: four keys a quarter of the block apart for the scores, eight keys
 * an eighth apart for the values. Each key row is then read front to back by its own stream;
 * neighbouring key rows read side by side came from memory at ~60% of the speed (a GPT-2 token's
 * 12 layers at 512 positions, one thread: 2.6 → 1.6 ms).
 */
@inline
function decodeBlock(
  q: usize, k: usize, v: usize, keys: usize, count: i32, probs: usize, acc: usize, rowMax: usize, rowSum: usize,
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
    const blockMax = load<f32>(rowProbs + (<usize>(KEY_BLOCK + 8) << 2));
    softmaxBlock(rowProbs, count, blockMax, acc + <usize>r * headBytes, rowMax + (<usize>r << 2), rowSum + (<usize>r << 2), headDim, softCap);
  }
  // Values: accumulateValues' groups, each for every row, then each row's leftover keys.
  const eighth = count >> 3;
  for (let j = 0; j < eighth; j++) {
    for (let r = 0; r < rows; r++) {
      const g = (qa + r) / group;
      accumulateGroup(v + <usize>g * headBytes, keys, j, eighth, probs + (<usize>(r * PROBS_STRIDE) << 2), acc + <usize>r * headBytes, headDim);
    }
  }
  if (eighth << 3 < count) {
    const first = eighth << 3;
    for (let r = 0; r < rows; r++) {
      const g = (qa + r) / group;
      const rowProbs = probs + (<usize>(r * PROBS_STRIDE) << 2);
      accumulateSingles(v + <usize>g * headBytes, keys, first, count, rowProbs, acc + <usize>r * headBytes, headDim);
    }
  }
}

/**
 * scoreKeys' four-key pass for keys j, j + apart, j + 2·apart, j + 3·apart (indices into keys and
 * probs): the same score for each key, bit for bit. Returns the four scores' max.
 */
@inline
function scoreKeysApart(qRow: usize, k: usize, keys: usize, j: i32, apart: i32, probs: usize, headDim: i32, scale: f32): f32 {
  const vecBytes = <usize>(headDim & ~3) << 2;
  const step = <usize>apart << 2;
  const at = <usize>j << 2;
  const ka = k + <usize>load<u32>(keys + at);
  const kb = k + <usize>load<u32>(keys + at + step);
  const kc = k + <usize>load<u32>(keys + at + 2 * step);
  const kd = k + <usize>load<u32>(keys + at + 3 * step);
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
  const scores = f32x4.mul(dots, f32x4.splat(scale));
  store<f32>(probs + at, f32x4.extract_lane(scores, 0));
  store<f32>(probs + at + step, f32x4.extract_lane(scores, 1));
  store<f32>(probs + at + 2 * step, f32x4.extract_lane(scores, 2));
  store<f32>(probs + at + 3 * step, f32x4.extract_lane(scores, 3));
  return maxLane(scores);
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
    let a = f32x4.splat(0), b = a, c = a, d = a;
    for (let o: usize = 0; o < vecBytes; o += 16) {
      const qv = v128.load(qRow + o);
      a = f32x4.add(a, f32x4.mul(qv, v128.load(ka + o)));
      b = f32x4.add(b, f32x4.mul(qv, v128.load(kb + o)));
      c = f32x4.add(c, f32x4.mul(qv, v128.load(kc + o)));
      d = f32x4.add(d, f32x4.mul(qv, v128.load(kd + o)));
    }
    // Lane sums of a, b, c, d by a 4 × 4 transpose: each is (l0 + l2) + (l1 + l3), as in laneSum.
    const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
    const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
    let dots = f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
    if (<i32>vecBytes < (headDim << 2)) {
      dots = f32x4.replace_lane(dots, 0, f32x4.extract_lane(dots, 0) + tailDot(qRow, ka, vecBytes, headDim));
      dots = f32x4.replace_lane(dots, 1, f32x4.extract_lane(dots, 1) + tailDot(qRow, kb, vecBytes, headDim));
      dots = f32x4.replace_lane(dots, 2, f32x4.extract_lane(dots, 2) + tailDot(qRow, kc, vecBytes, headDim));
      dots = f32x4.replace_lane(dots, 3, f32x4.extract_lane(dots, 3) + tailDot(qRow, kd, vecBytes, headDim));
    }
    const scores = f32x4.mul(dots, scaleV);
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
