// Q4_K and Q6_K weights (GGML layouts, ggml-common.h), 256 values per super-block.
//   block_q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of packed 6-bit (scale, min) × 8, 128 bytes qs.
//     64-value chunk c uses qs[32c .. 32c+32): low nibbles are sub-block 2c, high nibbles 2c+1.
//     w = d · sc_j · q - dmin · m_j.
//   block_q6_K (210 bytes): ql[128], qh[64], i8 scales[16], f16 d.
//     Each 128-value half h uses ql[64h ..], qh[32h ..], scales[8h ..]; for l in 0..31:
//       q(l)      = ql[l] & 15     | (qh[l] bits 0-1) << 4     scale index l/16
//       q(l + 32) = ql[l + 32] & 15 | (qh[l] bits 2-3) << 4    l/16 + 2
//       q(l + 64) = ql[l] >> 4      | (qh[l] bits 4-5) << 4    l/16 + 4
//       q(l + 96) = ql[l + 32] >> 4 | (qh[l] bits 6-7) << 4    l/16 + 6
//     w = d · scale · (q - 32).
// Activations come as Q8_K: i16 q, f32 d per 256, and i32 sums per 32 values (for the min term).
// Per super-block: exact integer sums, then sum += f32(sumi) · (d_w · d_x) and, for Q4_K,
// mins += f32(Σ m·sums) · (dmin_w · d_x); the result is sum - mins.

import { f16ToF32 } from "./half";
import { dot8, sumInts, NIBBLE, Q6_HIGH_BITS, THIRTY_TWO } from "./common";
import { dot16 } from "./blocks32";

export const Q4_K_BYTES: i32 = 144;
export const Q6_K_BYTES: i32 = 210;

/** Scale of sub-block j (0..7) from the 12 packed bytes at s (llama.cpp's get_scale_min_k4). */
@inline
function scaleK4(s: usize, j: i32): i32 {
  if (j < 4) return load<u8>(s + j) & 63;
  return (load<u8>(s + j + 4) & 0xf) | ((load<u8>(s + j - 4) >> 6) << 4);
}

/** Min of sub-block j (0..7). */
@inline
function minK4(s: usize, j: i32): i32 {
  if (j < 4) return load<u8>(s + j + 4) & 63;
  return (load<u8>(s + j + 4) >> 4) | ((load<u8>(s + j) >> 6) << 4);
}

/** The low / high nibble of every byte (a 16-bit shift and a mask: x86 has no byte shift). */
@inline
function lowNibbles(v: v128): v128 {
  return v128.and(v, NIBBLE());
}
@inline
function highNibbles(v: v128): v128 {
  return v128.and(i16x8.shr_u(v, 4), NIBBLE());
}

/** Σ over 32 unsigned 4-bit weights (two i8x16 vectors) and 32 i16 activations at xq. */
@inline
function dot32u(a: v128, b: v128, xq: usize): v128 {
  return i32x4.add(
    i32x4.add(dot8(i16x8.extend_low_i8x16_u(a), v128.load(xq)), dot8(i16x8.extend_high_i8x16_u(a), v128.load(xq, 16))),
    i32x4.add(dot8(i16x8.extend_low_i8x16_u(b), v128.load(xq, 32)), dot8(i16x8.extend_high_i8x16_u(b), v128.load(xq, 48))),
  );
}

/**
 * One 64-value chunk c (0..3) of a Q4_K block:
 * sc_2c · Σ low nibbles · x + sc_2c+1 · Σ high nibbles · x, as i32x4 partial sums.
 */
@inline
function q4KChunk(block: usize, c: i32, xb: usize): v128 {
  const q0 = v128.load(block + 16 + (<usize>c << 5));
  const q1 = v128.load(block + 32 + (<usize>c << 5));
  const xc = xb + (<usize>c << 7);
  const low = dot32u(lowNibbles(q0), lowNibbles(q1), xc);
  const high = dot32u(highNibbles(q0), highNibbles(q1), xc + 64);
  return i32x4.add(
    i32x4.mul(low, i32x4.splat(scaleK4(block + 4, 2 * c))),
    i32x4.mul(high, i32x4.splat(scaleK4(block + 4, 2 * c + 1))),
  );
}

/** Σ_j m_j · sums_j over the 8 sub-blocks of a Q4_K block (sb: the activation's per-32 sums). */
@inline
function q4KMins(block: usize, sb: usize): i32 {
  const s = block + 4;
  return minK4(s, 0) * load<i32>(sb) + minK4(s, 1) * load<i32>(sb, 4) +
    minK4(s, 2) * load<i32>(sb, 8) + minK4(s, 3) * load<i32>(sb, 12) +
    minK4(s, 4) * load<i32>(sb, 16) + minK4(s, 5) * load<i32>(sb, 20) +
    minK4(s, 6) * load<i32>(sb, 24) + minK4(s, 7) * load<i32>(sb, 28);
}

/** One row of Q4_K weights · one Q8_K activation row (xs: the activation's per-32 sums). */
export function rowDotQ4K(w: usize, xq: usize, xd: usize, xs: usize, blocks: i32): f32 {
  let sum: f32 = 0;
  let minAcc: f32 = 0;
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q4_K_BYTES;
    const xb = xq + (<usize>b << 9);
    let isum = i32x4.splat(0);
    for (let c = 0; c < 4; c++) isum = i32x4.add(isum, q4KChunk(block, c, xb));
    const dx = load<f32>(xd + (<usize>b << 2));
    sum += <f32>sumInts(isum) * (f16ToF32(load<u16>(block)) * dx);
    minAcc += <f32>q4KMins(block, xs + (<usize>b << 5)) * (f16ToF32(load<u16>(block, 2)) * dx);
  }
  return sum - minAcc;
}

/**
 * Group `group` (0..3) of one Q6_K (half, l0) step as i8x16 of q - 32, from a = ql[l0..],
 * bq = ql[l0 + 32..], c = qh[l0..]. Shifts are 16-bit and masked (cheaper than byte shifts on
 * x86; the mask drops what crosses from the neighbouring byte).
 */
@inline
function q6Group(a: v128, bq: v128, c: v128, group: i32): v128 {
  let q: v128;
  if (group == 0) q = v128.or(lowNibbles(a), v128.and(i16x8.shl(c, 4), Q6_HIGH_BITS()));
  else if (group == 1) q = v128.or(lowNibbles(bq), v128.and(i16x8.shl(c, 2), Q6_HIGH_BITS()));
  else if (group == 2) q = v128.or(highNibbles(a), v128.and(c, Q6_HIGH_BITS()));
  else q = v128.or(highNibbles(bq), v128.and(i16x8.shr_u(c, 2), Q6_HIGH_BITS()));
  return i8x16.sub(q, THIRTY_TWO());
}

/** scale · Σ (q - 32) · x over group `group` (constant) of a Q6_K step; xl: the step's activations. */
@inline
function q6GroupDot(a: v128, bq: v128, c: v128, group: i32, xl: usize, scales: usize): v128 {
  const part = dot16(q6Group(a, bq, c, group), xl + (<usize>group << 6));
  return i32x4.mul(part, i32x4.splat(<i32>load<i8>(scales + (group << 1))));
}

/** One row of Q6_K weights · one Q8_K activation row. */
export function rowDotQ6K(w: usize, xq: usize, xd: usize, blocks: i32): f32 {
  let sum: f32 = 0;
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q6_K_BYTES;
    const xb = xq + (<usize>b << 9);
    let isum = i32x4.splat(0);
    for (let h = 0; h < 2; h++) {
      const ql = block + (<usize>h << 6);
      const qh = block + 128 + (<usize>h << 5);
      const sc = block + 192 + (<usize>h << 3);
      for (let l0 = 0; l0 < 32; l0 += 16) {
        const a = v128.load(ql + l0), bq = v128.load(ql + 32 + l0), c = v128.load(qh + l0);
        const xl = xb + (<usize>((h << 7) + l0) << 1);
        const s = sc + (l0 >> 4);
        isum = i32x4.add(isum, q6GroupDot(a, bq, c, 0, xl, s));
        isum = i32x4.add(isum, q6GroupDot(a, bq, c, 1, xl, s));
        isum = i32x4.add(isum, q6GroupDot(a, bq, c, 2, xl, s));
        isum = i32x4.add(isum, q6GroupDot(a, bq, c, 3, xl, s));
      }
    }
    sum += <f32>sumInts(isum) * (f16ToF32(load<u16>(block, 208)) * load<f32>(xd + (<usize>b << 2)));
  }
  return sum;
}

/**
 * Expand a Q4_K row for the prefill kernel: i16 values q · sc (≤ 15 · 63, exact), f32 d per block,
 * and the min term's f32 dmin and 8 × i32 m per block.
 */
export function decodeRowQ4K(w: usize, q: usize, d: usize, dmin: usize, mins: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q4_K_BYTES;
    const scales = block + 4;
    const qb = q + (<usize>b << 9);
    for (let c = 0; c < 4; c++) {
      const q0 = v128.load(block + 16 + (<usize>c << 5));
      const q1 = v128.load(block + 32 + (<usize>c << 5));
      const lowScale = i16x8.splat(<i16>scaleK4(scales, 2 * c));
      const highScale = i16x8.splat(<i16>scaleK4(scales, 2 * c + 1));
      const out = qb + (<usize>c << 7);
      const l0 = lowNibbles(q0), l1 = lowNibbles(q1);
      const h0 = highNibbles(q0), h1 = highNibbles(q1);
      v128.store(out, i16x8.mul(i16x8.extend_low_i8x16_u(l0), lowScale));
      v128.store(out, i16x8.mul(i16x8.extend_high_i8x16_u(l0), lowScale), 16);
      v128.store(out, i16x8.mul(i16x8.extend_low_i8x16_u(l1), lowScale), 32);
      v128.store(out, i16x8.mul(i16x8.extend_high_i8x16_u(l1), lowScale), 48);
      v128.store(out, i16x8.mul(i16x8.extend_low_i8x16_u(h0), highScale), 64);
      v128.store(out, i16x8.mul(i16x8.extend_high_i8x16_u(h0), highScale), 80);
      v128.store(out, i16x8.mul(i16x8.extend_low_i8x16_u(h1), highScale), 96);
      v128.store(out, i16x8.mul(i16x8.extend_high_i8x16_u(h1), highScale), 112);
    }
    store<f32>(d + (<usize>b << 2), f16ToF32(load<u16>(block)));
    store<f32>(dmin + (<usize>b << 2), f16ToF32(load<u16>(block, 2)));
    for (let j = 0; j < 8; j++) store<i32>(mins + (<usize>((b << 3) + j) << 2), minK4(scales, j));
  }
}

/** Expand a Q6_K row for the prefill kernel: i16 values (q - 32) · scale (exact), f32 d per block. */
export function decodeRowQ6K(w: usize, q: usize, d: usize, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    const block = w + <usize>b * Q6_K_BYTES;
    const qb = q + (<usize>b << 9);
    for (let h = 0; h < 2; h++) {
      const ql = block + (<usize>h << 6);
      const qh = block + 128 + (<usize>h << 5);
      const sc = block + 192 + (<usize>h << 3);
      for (let l0 = 0; l0 < 32; l0 += 16) {
        const a = v128.load(ql + l0), bq = v128.load(ql + 32 + l0), c = v128.load(qh + l0);
        const out = qb + (<usize>((h << 7) + l0) << 1);
        const s = sc + (l0 >> 4);
        for (let g = 0; g < 4; g++) {
          const values = q6Group(a, bq, c, g);
          const scale = i16x8.splat(<i16>load<i8>(s + (g << 1)));
          v128.store(out + (<usize>g << 6), i16x8.mul(i16x8.extend_low_i8x16_s(values), scale));
          v128.store(out + (<usize>g << 6), i16x8.mul(i16x8.extend_high_i8x16_s(values), scale), 16);
        }
      }
    }
    store<f32>(d + (<usize>b << 2), f16ToF32(load<u16>(block, 208)));
  }
}
