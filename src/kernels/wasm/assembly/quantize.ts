// Activation quantization, as llama.cpp's CPU backend does it before a quantized dot product, so
// our integer sums equal its integer sums. Quantized activations are kept as i16 (not i8): the
// dot kernels then load them ready for i32x4.dot_i16x8_s, and they are small (one row per token).

import { f16ToF32, f32ToF16 } from "./half";

/**
 * The largest |x| of 32 f32 at p. |x| as bits is a non-negative integer that orders like the value
 * (every NaN above ∞ above every finite value), so an unsigned integer max finds it in one
 * instruction per vector, where V8 spends several on f32x4.max's NaN and ±0 rules. A NaN in the
 * block comes out as a NaN (with its own payload; callers only test for it), as with f32x4.max.
 */
@inline
function absMax8(p: usize): f32 {
  const magnitude = i32x4.splat(0x7fffffff);
  let m = v128.and(v128.load(p), magnitude);
  for (let i = 16; i < 128; i += 16) m = i32x4.max_u(m, v128.and(v128.load(p + i), magnitude));
  m = i32x4.max_u(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  m = i32x4.max_u(m, i32x4.shuffle(m, m, 1, 0, 3, 2));
  return reinterpret<f32>(i32x4.extract_lane(m, 0));
}

/** 8 f32 at p, times `scale`, rounded to nearest (ties to even), as i16x8 (no overflow: |q| ≤ 127). */
@inline
function roundScaled8(p: usize, scale: v128): v128 {
  const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), scale)));
  const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), scale)));
  return i16x8.narrow_i32x4_s(lo, hi);
}

/** 1.5 · 2²³: adding it to a float of magnitude < 2²² leaves that float rounded to an integer (ties to even) in the low mantissa bits. */
const ROUNDING_MAGIC: f32 = 12582912;

/**
 * roundScaled8 for finite products of magnitude ≤ 2²² (for a block of finite values with a finite
 * scale, |x · 127 / amax| ≤ 127): the magic-number rounding gives nearest's ties-to-even integer, without
 * the range and NaN fix-ups V8 wraps around each trunc_sat. Same results, ~3× faster.
 */
@inline
function roundScaled8Finite(p: usize, scale: v128): v128 {
  const magic = f32x4.splat(ROUNDING_MAGIC);
  const magicBits = i32x4.splat(reinterpret<i32>(ROUNDING_MAGIC));
  const lo = i32x4.sub(f32x4.add(f32x4.mul(v128.load(p), scale), magic), magicBits);
  const hi = i32x4.sub(f32x4.add(f32x4.mul(v128.load(p, 16), scale), magic), magicBits);
  return i16x8.narrow_i32x4_s(lo, hi);
}

/**
 * Whether a block whose largest magnitude is amax can take roundScaled8Finite: its values are
 * finite (amax is ∞ or NaN otherwise) and its scale, 127 / amax, is too (below ~3.7e-37 it
 * overflows), so every product is within ±127.
 */
@inline
function roundsFinitely(amax: f32): bool {
  return amax == 0 || (amax >= <f32>1e-36 && amax <= <f32>3.4028234663852886e38);
}

/**
 * Q8_0 activations, blocks of 32 values (llama.cpp's x86 quantize_row_q8_0):
 * d = amax / 127 stored as f16, q = roundEven(x · (127 / amax)).
 * x: `count` f32 (a multiple of 32); qs: `count` i16; ds: count / 32 f32 (the f16-rounded d).
 */
export function quantizeQ8_0(x: usize, qs: usize, ds: usize, count: i32): void {
  const blocks = count >> 5;
  for (let b = 0; b < blocks; b++) {
    const src = x + (<usize>b << 7);
    const dst = qs + (<usize>b << 6);
    const amax = absMax8(src);
    store<f32>(ds + (<usize>b << 2), f16ToF32(f32ToF16(amax / <f32>127)));
    const scale = f32x4.splat(amax != 0 ? <f32>127 / amax : <f32>0);
    if (roundsFinitely(amax)) {
      for (let i = 0; i < 4; i++) v128.store(dst + (<usize>i << 4), roundScaled8Finite(src + (<usize>i << 5), scale));
    } else {
      for (let i = 0; i < 4; i++) v128.store(dst + (<usize>i << 4), roundScaled8(src + (<usize>i << 5), scale));
    }
  }
}

/**
 * The first of the 256 values at p whose magnitude is `amax` (0 if none: amax is NaN), four at a
 * time until a group holds it.
 */
@inline
function firstOfMagnitude(p: usize, amax: f32): f32 {
  const magnitude = i32x4.splat(0x7fffffff), target = f32x4.splat(amax);
  for (let j = 0; j < 256; j += 4) {
    const at = p + (<usize>j << 2);
    if (!v128.any_true(f32x4.eq(v128.and(v128.load(at), magnitude), target))) continue;
    for (let k = 0; k < 4; k++) {
      const v = load<f32>(at + (<usize>k << 2));
      if (abs(v) == amax) return v;
    }
  }
  return 0;
}

/**
 * Q8_K activations, blocks of 256 values (llama.cpp's quantize_row_q8_K_ref): the value of largest
 * magnitude (first one on ties) maps to -127: iscale = -127 / max, q = min(127, roundEven(iscale · x)),
 * d = 1 / iscale as f32. Also writes each 32-value sub-block's sum of q (the k-quants' min term).
 * x: `count` f32 (a multiple of 256); qs: `count` i16; ds: count / 256 f32; sums: count / 32 i32.
 */
export function quantizeQ8_K(x: usize, qs: usize, ds: usize, sums: usize, count: i32): void {
  const blocks = count >> 8;
  const ones = i16x8.splat(1);
  for (let b = 0; b < blocks; b++) {
    const src = x + (<usize>b << 10);
    const dst = qs + (<usize>b << 9);
    let amax: f32 = 0;
    for (let i = 0; i < 8; i++) amax = max(amax, absMax8(src + (<usize>i << 7)));
    const signedMax = firstOfMagnitude(src, amax);
    const iscale: f32 = amax != 0 ? <f32>-127 / signedMax : <f32>0;
    store<f32>(ds + (<usize>b << 2), amax != 0 ? <f32>1 / iscale : <f32>0);
    const scale = f32x4.splat(iscale);
    const limit = i16x8.splat(127);
    const finite = roundsFinitely(amax); // |iscale| = 127 / amax
    for (let s = 0; s < 8; s++) {
      let total = i32x4.splat(0);
      for (let i = 0; i < 4; i++) {
        const at = (s << 2) + i;
        const p = src + (<usize>at << 5);
        const q = i16x8.min_s(finite ? roundScaled8Finite(p, scale) : roundScaled8(p, scale), limit);
        v128.store(dst + (<usize>at << 4), q);
        total = i32x4.add(total, i32x4.dot_i16x8_s(q, ones));
      }
      const sum = i32x4.extract_lane(total, 0) + i32x4.extract_lane(total, 1) +
        i32x4.extract_lane(total, 2) + i32x4.extract_lane(total, 3);
      store<i32>(sums + (<usize>((b << 3) + s) << 2), sum);
    }
  }
}
