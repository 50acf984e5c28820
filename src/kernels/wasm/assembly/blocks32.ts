// Q8_0 and Q4_0 weights (GGML layouts), 32 values per block:
//   block_q8_0: f16 d, 32 × i8 q                       (34 bytes), w = d · q
//   block_q4_0: f16 d, 16 bytes: low nibbles are values 0..15, high nibbles 16..31 (18 bytes),
//               w = d · (nibble - 8)
// Activations come as Q8_0 (i16 q and an f32 d per block).
//
// The order of the f32 steps, which every kernel shape here takes (so a (row, token) output never
// depends on the shape, the path or the thread count), is llama.cpp's AVX order: four f32 lanes
// per (row, token), and per block
//   acc[l] = acc[l] + f32(isum[l]) · f32(d_w · d_x)        (a multiply, then an add: no FMA)
// where isum[l] is the exact integer sum of the block's products w_k · x_k with (k mod 8) >> 1 == l,
// the lane i32x4.dot_i16x8_s puts them in; at the end of the row, (acc[0] + acc[1]) + (acc[2] + acc[3]).
// The TypeScript twin is src/kernels/quantized-matmul.ts.

import { dot8, sumLanes, NIBBLE16, EIGHT16, F16_MASK, F16_REBIAS } from "./common";

export const Q8_0_BYTES: i32 = 34;
export const Q4_0_BYTES: i32 = 18;

/**
 * A finite f16 (its bits in the high half of an i32) → f32, exactly: shift the exponent and
 * mantissa into f32 position, then multiply by 2¹¹², which rebiases the exponent and turns half
 * subnormals into f32 normals in one exact step. ∞ and NaN scales come out finite (garbage in,
 * garbage out), but the same garbage in every kernel shape.
 */
@inline
function highHalfToF32(bits: i32): f32 {
  return reinterpret<f32>((bits >> 3) & 0x8fffe000) * reinterpret<f32>(0x77800000);
}

/** The block scale d at `block` as f32 (see highHalfToF32). */
@inline
export function blockScale(block: usize): f32 {
  return highHalfToF32(<i32>load<u16>(block) << 16);
}

/** The scales of four consecutive blocks (`size` bytes apart) as f32x4, the same way. */
@inline
function blockScales4(block: usize, size: usize): v128 {
  let bits = v128.load16_lane(block, i32x4.splat(0), 1);
  bits = v128.load16_lane(block + size, bits, 3);
  bits = v128.load16_lane(block + 2 * size, bits, 5);
  bits = v128.load16_lane(block + 3 * size, bits, 7);
  return f32x4.mul(v128.and(i32x4.shr_s(bits, 3), F16_MASK()), F16_REBIAS());
}

/** Σ w·x over 16 i8 weights and 16 i16 activations at xq, as i32x4 partial sums (for kquants.ts). */
@inline
export function dot16(w: v128, xq: usize): v128 {
  return i32x4.add(
    dot8(i16x8.extend_low_i8x16_s(w), v128.load(xq)),
    dot8(i16x8.extend_high_i8x16_s(w), v128.load(xq, 16)),
  );
}

/**
 * Integer dot of one block (at `block`) with 32 activations in registers, as i32x4 lane sums.
 * T marks the format: i8 → Q8_0, u8 → Q4_0. Q4_0's 16 nibble bytes are zero-extended to 16-bit
 * lanes in two halves, where a value's low nibble is an AND (`nibble`: 0x000f per lane) and its
 * high nibble a shift away, minus `eight`: values 0..7, 8..15, 16..23, 24..31 in order. (Unpacking
 * in 8-bit lanes and widening after costs more: x86 has no byte shift, and V8 widens a high half
 * in two instructions.)
 */
@inline
function blockDot<T>(block: usize, x0: v128, x1: v128, x2: v128, x3: v128, nibble: v128, eight: v128): v128 {
  if (isSigned<T>()) {
    return i32x4.add(
      i32x4.add(dot8(v128.load8x8_s(block, 2), x0), dot8(v128.load8x8_s(block, 10), x1)),
      i32x4.add(dot8(v128.load8x8_s(block, 18), x2), dot8(v128.load8x8_s(block, 26), x3)),
    );
  }
  const a = v128.load8x8_u(block, 2), b = v128.load8x8_u(block, 10); // bytes 0..7, 8..15
  return i32x4.add(
    i32x4.add(dot8(i16x8.sub(v128.and(a, nibble), eight), x0), dot8(i16x8.sub(v128.and(b, nibble), eight), x1)),
    i32x4.add(dot8(i16x8.sub(i16x8.shr_u(a, 4), eight), x2), dot8(i16x8.sub(i16x8.shr_u(b, 4), eight), x3)),
  );
}

/** A constant only the Q4_0 kernels use: loaded once per call, outside the block loops. */
@inline
function q4Constant<T>(value: v128): v128 {
  return isSigned<T>() ? i32x4.splat(0) : value;
}

@inline
function blockBytesOf<T>(): usize {
  return isSigned<T>() ? Q8_0_BYTES : Q4_0_BYTES;
}

/** One block's step: acc + f32(isum) · scale, lane by lane (scale: d_w · d_x in every lane). */
@inline
export function addBlock(acc: v128, isum: v128, scale: v128): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum), scale));
}

/**
 * Adds one block of one row to acc and stores the result at `fence`. The store is never read: it
 * keeps V8 from hoisting the next block's loads above this block's products (it schedules every
 * load of an unrolled step first and then spills what does not fit in registers).
 */
@inline
function rowBlock<T>(acc: v128, block: usize, x0: v128, x1: v128, x2: v128, x3: v128, scale: v128, fence: usize, nibble: v128, eight: v128): v128 {
  const sum = addBlock(acc, blockDot<T>(block, x0, x1, x2, x3, nibble, eight), scale);
  v128.store(fence, sum);
  return sum;
}

/**
 * Two rows (w and w + apart) · one token (xq, xd), written to outA and outB. Four blocks per step:
 * the two rows share every activation load, and the four scales of each row are converted
 * together. Keep the rows far apart (`apart` ≫ one row): two neighbouring rows read side by side
 * came from memory at a third of the speed of one row here (the prefetchers lose the streams);
 * two rows half a chunk apart read as fast as one, and four rows gained nothing more.
 * `fence`: 32 bytes of this thread's scratch.
 */
@inline
function rowPair<T>(w: usize, apart: usize, xq: usize, xd: usize, blocks: i32, fence: usize, outA: usize, outB: usize): void {
  const size = blockBytesOf<T>();
  const nibble = q4Constant<T>(NIBBLE16()), eight = q4Constant<T>(EIGHT16());
  let a0 = f32x4.splat(0), a1 = a0;
  let b = 0;
  for (; b + 4 <= blocks; b += 4) {
    const p = w + <usize>b * size, q = p + apart;
    const dx = v128.load(xd + (<usize>b << 2));
    const s0 = f32x4.mul(blockScales4(p, size), dx);
    const s1 = f32x4.mul(blockScales4(q, size), dx);
    let x = xq + (<usize>b << 6);
    let x0 = v128.load(x), x1 = v128.load(x, 16), x2 = v128.load(x, 32), x3 = v128.load(x, 48);
    a0 = rowBlock<T>(a0, p, x0, x1, x2, x3, i32x4.shuffle(s0, s0, 0, 0, 0, 0), fence, nibble, eight);
    a1 = rowBlock<T>(a1, q, x0, x1, x2, x3, i32x4.shuffle(s1, s1, 0, 0, 0, 0), fence + 16, nibble, eight);
    x += 64;
    x0 = v128.load(x); x1 = v128.load(x, 16); x2 = v128.load(x, 32); x3 = v128.load(x, 48);
    a0 = rowBlock<T>(a0, p + size, x0, x1, x2, x3, i32x4.shuffle(s0, s0, 1, 1, 1, 1), fence, nibble, eight);
    a1 = rowBlock<T>(a1, q + size, x0, x1, x2, x3, i32x4.shuffle(s1, s1, 1, 1, 1, 1), fence + 16, nibble, eight);
    x += 64;
    x0 = v128.load(x); x1 = v128.load(x, 16); x2 = v128.load(x, 32); x3 = v128.load(x, 48);
    a0 = rowBlock<T>(a0, p + 2 * size, x0, x1, x2, x3, i32x4.shuffle(s0, s0, 2, 2, 2, 2), fence, nibble, eight);
    a1 = rowBlock<T>(a1, q + 2 * size, x0, x1, x2, x3, i32x4.shuffle(s1, s1, 2, 2, 2, 2), fence + 16, nibble, eight);
    x += 64;
    x0 = v128.load(x); x1 = v128.load(x, 16); x2 = v128.load(x, 32); x3 = v128.load(x, 48);
    a0 = rowBlock<T>(a0, p + 3 * size, x0, x1, x2, x3, i32x4.shuffle(s0, s0, 3, 3, 3, 3), fence, nibble, eight);
    a1 = rowBlock<T>(a1, q + 3 * size, x0, x1, x2, x3, i32x4.shuffle(s1, s1, 3, 3, 3, 3), fence + 16, nibble, eight);
  }
  for (; b < blocks; b++) {
    const p = w + <usize>b * size, q = p + apart;
    const x = xq + (<usize>b << 6);
    const x0 = v128.load(x), x1 = v128.load(x, 16), x2 = v128.load(x, 32), x3 = v128.load(x, 48);
    const dx = load<f32>(xd + (<usize>b << 2));
    a0 = rowBlock<T>(a0, p, x0, x1, x2, x3, f32x4.splat(blockScale(p) * dx), fence, nibble, eight);
    a1 = rowBlock<T>(a1, q, x0, x1, x2, x3, f32x4.splat(blockScale(q) * dx), fence + 16, nibble, eight);
  }
  store<f32>(outA, sumLanes(a0));
  store<f32>(outB, sumLanes(a1));
}

/** One row · one token, the same steps as each row of rowPair. `fence`: 16 bytes of scratch. */
@inline
function rowSingle<T>(w: usize, xq: usize, xd: usize, blocks: i32, fence: usize): f32 {
  const size = blockBytesOf<T>();
  const nibble = q4Constant<T>(NIBBLE16()), eight = q4Constant<T>(EIGHT16());
  let acc = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const p = w + <usize>b * size;
    const x = xq + (<usize>b << 6);
    const scale = f32x4.splat(blockScale(p) * load<f32>(xd + (<usize>b << 2)));
    acc = rowBlock<T>(acc, p, v128.load(x), v128.load(x, 16), v128.load(x, 32), v128.load(x, 48), scale, fence, nibble, eight);
  }
  return sumLanes(acc);
}

export function rowPairQ8_0(w: usize, apart: usize, xq: usize, xd: usize, blocks: i32, fence: usize, outA: usize, outB: usize): void {
  rowPair<i8>(w, apart, xq, xd, blocks, fence, outA, outB);
}
export function rowPairQ4_0(w: usize, apart: usize, xq: usize, xd: usize, blocks: i32, fence: usize, outA: usize, outB: usize): void {
  rowPair<u8>(w, apart, xq, xd, blocks, fence, outA, outB);
}
export function rowSingleQ8_0(w: usize, xq: usize, xd: usize, blocks: i32, fence: usize): f32 {
  return rowSingle<i8>(w, xq, xd, blocks, fence);
}
export function rowSingleQ4_0(w: usize, xq: usize, xd: usize, blocks: i32, fence: usize): f32 {
  return rowSingle<u8>(w, xq, xd, blocks, fence);
}

/** Expand a Q8_0 row to i16 values (cols) and f32 block scales (blocks), for the prefill kernel. */
export function decodeRowQ8_0(w: usize, q: usize, d: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q8_0_BYTES;
    const qb = q + (<usize>b << 6);
    v128.store(qb, v128.load8x8_s(block, 2));
    v128.store(qb, v128.load8x8_s(block, 10), 16);
    v128.store(qb, v128.load8x8_s(block, 18), 32);
    v128.store(qb, v128.load8x8_s(block, 26), 48);
    store<f32>(d + (<usize>b << 2), blockScale(block));
  }
}

/** Expand a Q4_0 row to i16 values and f32 block scales. */
export function decodeRowQ4_0(w: usize, q: usize, d: usize, blocks: i32): void {
  const nibble = NIBBLE16(), eight = EIGHT16();
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q4_0_BYTES;
    const qb = q + (<usize>b << 6);
    const lo = v128.load8x8_u(block, 2), hi = v128.load8x8_u(block, 10); // bytes 0..7, 8..15
    v128.store(qb, i16x8.sub(v128.and(lo, nibble), eight));
    v128.store(qb, i16x8.sub(v128.and(hi, nibble), eight), 16);
    v128.store(qb, i16x8.sub(i16x8.shr_u(lo, 4), eight), 32);
    v128.store(qb, i16x8.sub(i16x8.shr_u(hi, 4), eight), 48);
    store<f32>(d + (<usize>b << 2), blockScale(block));
  }
}

/** Σ over 32 expanded weights in registers and 32 activations at x, as i32x4 lane sums. */
@inline
function expandedDot(w0: v128, w1: v128, w2: v128, w3: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.add(dot8(w0, v128.load(x)), dot8(w1, v128.load(x, 16))),
    i32x4.add(dot8(w2, v128.load(x, 32)), dot8(w3, v128.load(x, 48))),
  );
}

/**
 * Prefill: one expanded row (cols i16, then blocks f32 scales) × four tokens whose activations
 * are x0 + k · xStride (k = 0..3), with the four tokens' scales of block b side by side at
 * dx4 + 16 · b. Writes the four results to out + k · outStride. Each block's four weight vectors
 * are loaded once for the four tokens. `fence`: 64 bytes of scratch (see rowBlock).
 */
export function expandedRow1x4(
  row: usize, blocks: i32, x0: usize, xStride: usize, dx4: usize, fence: usize, out: usize, outStride: usize,
): void {
  const d = row + (<usize>blocks << 6);
  const x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let b = 0; b < blocks; b++) {
    const o = <usize>b << 6;
    const w = row + o;
    const w0 = v128.load(w), w1 = v128.load(w, 16), w2 = v128.load(w, 32), w3 = v128.load(w, 48);
    const scales = f32x4.mul(v128.load32_splat(d + (<usize>b << 2)), v128.load(dx4 + (<usize>b << 4)));
    a0 = addBlock(a0, expandedDot(w0, w1, w2, w3, x0 + o), i32x4.shuffle(scales, scales, 0, 0, 0, 0));
    v128.store(fence, a0);
    a1 = addBlock(a1, expandedDot(w0, w1, w2, w3, x1 + o), i32x4.shuffle(scales, scales, 1, 1, 1, 1));
    v128.store(fence, a1, 16);
    a2 = addBlock(a2, expandedDot(w0, w1, w2, w3, x2 + o), i32x4.shuffle(scales, scales, 2, 2, 2, 2));
    v128.store(fence, a2, 32);
    a3 = addBlock(a3, expandedDot(w0, w1, w2, w3, x3 + o), i32x4.shuffle(scales, scales, 3, 3, 3, 3));
    v128.store(fence, a3, 48);
  }
  store<f32>(out, sumLanes(a0));
  store<f32>(out + outStride, sumLanes(a1));
  store<f32>(out + 2 * outStride, sumLanes(a2));
  store<f32>(out + 3 * outStride, sumLanes(a3));
}

/** One expanded row × one token (xq, xd): the same steps as each token of expandedRow1x4. */
export function expandedRow1x1(row: usize, blocks: i32, xq: usize, xd: usize): f32 {
  const d = row + (<usize>blocks << 6);
  let acc = f32x4.splat(0);
  for (let b = 0; b < blocks; b++) {
    const o = <usize>b << 6;
    const w = row + o;
    const scale = f32x4.splat(load<f32>(d + (<usize>b << 2)) * load<f32>(xd + (<usize>b << 2)));
    acc = addBlock(acc, expandedDot(v128.load(w), v128.load(w, 16), v128.load(w, 32), v128.load(w, 48), xq + o), scale);
  }
  return sumLanes(acc);
}

/** The scales of tokens t .. t+3 (at d0 + k · dStride) side by side per block: dx4 + 16 · b. */
export function gatherScales4(d0: usize, dStride: usize, blocks: i32, dx4: usize): void {
  const d1 = d0 + dStride, d2 = d1 + dStride, d3 = d2 + dStride;
  for (let b = 0; b < blocks; b++) {
    const o = <usize>b << 2;
    let v = v128.load32_lane(d0 + o, i32x4.splat(0), 0);
    v = v128.load32_lane(d1 + o, v, 1);
    v = v128.load32_lane(d2 + o, v, 2);
    v = v128.load32_lane(d3 + o, v, 3);
    v128.store(dx4 + (<usize>b << 4), v);
  }
}
