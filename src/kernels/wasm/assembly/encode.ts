// Weight encoders for quantizing a model on load: the same bytes as src/tensor/quantize.ts (the
// reference rules llama.cpp's converter writes files with), step for step in f32, only faster.
// Activations use other rules (quantize.ts); these are for weights. Branch-free where the data
// decides (signs, maxima): random weights would make every branch a coin toss.

import { f32ToF16 } from "./half";

/** max |x| over the 32 f32 at p (exact, so the order does not matter). */
@inline
function absMax32(p: usize): f32 {
  let m = f32x4.abs(v128.load(p));
  for (let i = 16; i < 128; i += 16) m = f32x4.max(m, f32x4.abs(v128.load(p + i)));
  m = f32x4.max(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  return max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

/**
 * roundf(v) for four lanes: halves away from zero. trunc and the fraction are exact in f32, so
 * this never suffers the rounding of |v| + 0.5.
 */
@inline
function roundHalfAway4(v: v128): v128 {
  const magnitude = f32x4.abs(v);
  const whole = f32x4.trunc(magnitude);
  const up = v128.and(f32x4.ge(f32x4.sub(magnitude, whole), f32x4.splat(0.5)), f32x4.splat(1));
  const rounded = f32x4.add(whole, up);
  return i32x4.trunc_sat_f32x4_s(v128.or(rounded, v128.and(v, i32x4.splat(0x80000000)))); // the sign back
}

/** Q8_0, per 32 values: d = amax / 127, q = roundf(x · (1 / d)); block = f16 d, 32 × i8. */
export function encodeQ8_0(x: usize, out: usize, count: i32): void {
  for (let b = 0; b < count >> 5; b++) {
    const src = x + (<usize>b << 7);
    const dst = out + <usize>b * 34;
    const d: f32 = absMax32(src) / <f32>127;
    const scale = f32x4.splat(d != 0 ? <f32>1 / d : <f32>0);
    store<u16>(dst, <u16>f32ToF16(d));
    for (let h = 0; h < 2; h++) {
      const p = src + (<usize>h << 6);
      const q0 = roundHalfAway4(f32x4.mul(v128.load(p), scale));
      const q1 = roundHalfAway4(f32x4.mul(v128.load(p, 16), scale));
      const q2 = roundHalfAway4(f32x4.mul(v128.load(p, 32), scale));
      const q3 = roundHalfAway4(f32x4.mul(v128.load(p, 48), scale));
      v128.store(dst + 2 + (<usize>h << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
  }
}

/** min(15, trunc(x · scale + 8.5)) for 8 values at p, as i16x8. */
@inline
function nibbles8(p: usize, scale: v128): v128 {
  const half = f32x4.splat(8.5), fifteen = i32x4.splat(15);
  const a = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p), scale), half)), fifteen);
  const b = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p, 16), scale), half)), fifteen);
  return i16x8.narrow_i32x4_s(a, b);
}

/**
 * Q4_0, per 32 values: max = the value of largest magnitude (first on ties), d = max / -8,
 * q = min(15, trunc(x · (1 / d) + 8.5)); block = f16 d, 16 bytes (values 0..15 low nibbles, 16..31 high).
 */
export function encodeQ4_0(x: usize, out: usize, count: i32): void {
  for (let b = 0; b < count >> 5; b++) {
    const src = x + (<usize>b << 7);
    const dst = out + <usize>b * 18;
    const amax = absMax32(src);
    let signedMax: f32 = 0;
    for (let j = 0; j < 32; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      if (abs(v) == amax) { signedMax = v; break; }
    }
    const d: f32 = signedMax / <f32>-8;
    const scale = f32x4.splat(d != 0 ? <f32>1 / d : <f32>0);
    store<u16>(dst, <u16>f32ToF16(d));
    const low = i8x16.narrow_i16x8_u(nibbles8(src, scale), nibbles8(src + 32, scale));
    const high = i8x16.narrow_i16x8_u(i16x8.shl(nibbles8(src + 64, scale), 4), i16x8.shl(nibbles8(src + 96, scale), 4));
    v128.store(dst + 2, v128.or(low, high));
  }
}

/** f32 → f16, nearest with ties to even. */
export function encodeF16(x: usize, out: usize, count: i32): void {
  for (let i = 0; i < count; i++) store<u16>(out + (<usize>i << 1), <u16>f32ToF16(load<f32>(x + (<usize>i << 2))));
}
