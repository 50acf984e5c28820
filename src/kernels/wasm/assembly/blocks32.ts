// Q8_0 and Q4_0 weights (GGML layouts), 32 values per block:
//   block_q8_0: f16 d, 32 × i8 q                       (34 bytes), w = d · q
//   block_q4_0: f16 d, 16 bytes: low nibbles are values 0..15, high nibbles 16..31 (18 bytes),
//               w = d · (nibble - 8)
// Activations come as Q8_0 (i16 q and an f32 d per block). Per block: an exact integer sum, then
// sum += f32(sumi) · (d_w · d_x) in f32, block after block, like llama.cpp's scalar code. Every
// kernel shape follows exactly these steps, so results never depend on the shape.

import { f16ToF32, f16x4ToF32x4 } from "./half";
import { dot8, sumInts, sum4x4, NIBBLE, EIGHT } from "./common";

export const Q8_0_BYTES: i32 = 34;
export const Q4_0_BYTES: i32 = 18;

/**
 * Q4_0 nibbles of a block as two i8x16 vectors of values in [-8, 7]: values 0..15 and 16..31.
 * The high nibbles use a 16-bit shift and the mask (x86 has no byte shift).
 */
@inline
function q4Low(raw: v128): v128 {
  return i8x16.sub(v128.and(raw, NIBBLE()), EIGHT());
}
@inline
function q4High(raw: v128): v128 {
  return i8x16.sub(v128.and(i16x8.shr_u(raw, 4), NIBBLE()), EIGHT());
}

/** Σ w·x over 16 i8 weights and 16 i16 activations at xq, as i32x4 partial sums. */
@inline
export function dot16(w: v128, xq: usize): v128 {
  return i32x4.add(
    dot8(i16x8.extend_low_i8x16_s(w), v128.load(xq)),
    dot8(i16x8.extend_high_i8x16_s(w), v128.load(xq, 16)),
  );
}

/**
 * Integer dot of one block (at `block`) with 32 activations already in registers, as i32x4
 * partial sums. T marks the format: i8 → Q8_0, u8 → Q4_0.
 */
@inline
function blockDot<T>(block: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  if (isSigned<T>()) {
    return i32x4.add(
      i32x4.add(dot8(v128.load8x8_s(block, 2), x0), dot8(v128.load8x8_s(block, 10), x1)),
      i32x4.add(dot8(v128.load8x8_s(block, 18), x2), dot8(v128.load8x8_s(block, 26), x3)),
    );
  }
  const raw = v128.load(block, 2);
  const low = q4Low(raw), high = q4High(raw);
  return i32x4.add(
    i32x4.add(dot8(i16x8.extend_low_i8x16_s(low), x0), dot8(i16x8.extend_high_i8x16_s(low), x1)),
    i32x4.add(dot8(i16x8.extend_low_i8x16_s(high), x2), dot8(i16x8.extend_high_i8x16_s(high), x3)),
  );
}

@inline
function blockBytesOf<T>(): usize {
  return isSigned<T>() ? Q8_0_BYTES : Q4_0_BYTES;
}

/**
 * One row · one Q8_0 activation row, four blocks per step: the four blocks' integer sums go through
 * `tmp` (64 bytes of this thread's scratch) and come back as one vector, so each step ends with
 * the same f32 steps as the loop over the last blocks: sum += f32(sumi) · (d_w · d_x), block after block.
 *
 * Why one row and not four at once: four row streams 34-byte blocks apart read memory at about
 * half the rate of one stream here (~10 vs ~22 GB/s, measured with the arithmetic left out). And
 * why the round trip through memory: V8 hoists all of a step's 32 loads above the products and
 * spills half of them; a store after each block keeps its loads and products together.
 */
@inline
function rowDot4<T>(w: usize, xq: usize, xd: usize, blocks: i32, tmp: usize): f32 {
  const size = blockBytesOf<T>();
  let sum: f32 = 0;
  let b = 0;
  for (; b + 4 <= blocks; b += 4) {
    const b0 = w + <usize>b * size;
    for (let j = 0; j < 4; j++) {
      const xb = xq + (<usize>(b + j) << 6);
      v128.store(tmp + (<usize>j << 4), blockDot<T>(b0 + <usize>j * size, v128.load(xb), v128.load(xb, 16), v128.load(xb, 32), v128.load(xb, 48)));
    }
    const isums = sum4x4(v128.load(tmp), v128.load(tmp, 16), v128.load(tmp, 32), v128.load(tmp, 48));
    // The four f16 scales into the high halves of i32 lanes, then sign-extended down.
    let halves = v128.load16_lane(b0, i32x4.splat(0), 1);
    halves = v128.load16_lane(b0 + size, halves, 3);
    halves = v128.load16_lane(b0 + 2 * size, halves, 5);
    halves = v128.load16_lane(b0 + 3 * size, halves, 7);
    const scales = f32x4.mul(f16x4ToF32x4(i32x4.shr_s(halves, 16)), v128.load(xd + (<usize>b << 2)));
    const terms = f32x4.mul(f32x4.convert_i32x4_s(isums), scales);
    sum += f32x4.extract_lane(terms, 0);
    sum += f32x4.extract_lane(terms, 1);
    sum += f32x4.extract_lane(terms, 2);
    sum += f32x4.extract_lane(terms, 3);
  }
  for (; b < blocks; b++) {
    const block = w + <usize>b * size;
    const xb = xq + (<usize>b << 6);
    const isum = blockDot<T>(block, v128.load(xb), v128.load(xb, 16), v128.load(xb, 32), v128.load(xb, 48));
    sum += <f32>sumInts(isum) * (f16ToF32(load<u16>(block)) * load<f32>(xd + (<usize>b << 2)));
  }
  return sum;
}

export function rowDot4Q8_0(w: usize, xq: usize, xd: usize, blocks: i32, tmp: usize): f32 {
  return rowDot4<i8>(w, xq, xd, blocks, tmp);
}
export function rowDot4Q4_0(w: usize, xq: usize, xd: usize, blocks: i32, tmp: usize): f32 {
  return rowDot4<u8>(w, xq, xd, blocks, tmp);
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
    store<f32>(d + (<usize>b << 2), f16ToF32(load<u16>(block)));
  }
}

/** Expand a Q4_0 row to i16 values and f32 block scales. */
export function decodeRowQ4_0(w: usize, q: usize, d: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q4_0_BYTES;
    const qb = q + (<usize>b << 6);
    const raw = v128.load(block, 2);
    const low = q4Low(raw), high = q4High(raw);
    v128.store(qb, i16x8.extend_low_i8x16_s(low));
    v128.store(qb, i16x8.extend_high_i8x16_s(low), 16);
    v128.store(qb, i16x8.extend_low_i8x16_s(high), 32);
    v128.store(qb, i16x8.extend_high_i8x16_s(high), 48);
    store<f32>(d + (<usize>b << 2), f16ToF32(load<u16>(block)));
  }
}
