// 16-bit float conversions: IEEE half (f16) and bfloat16, scalar and four lanes at a time.
// Weights stay 16-bit in memory and become f32 only in registers.

import { F16_MASK, F16_REBIAS, F16_EXPONENT_BITS } from "./common";

/** IEEE half bits → f32, exactly (every f16 is an f32). */
@inline
export function f16ToF32(h: u32): f32 {
  const sign: u32 = (h & 0x8000) << 16;
  const exponent = h & 0x7c00;
  if (exponent == 0) {
    // Zero or subnormal: mantissa × 2⁻²⁴, exact in f32.
    const magnitude = <f32>(h & 0x3ff) * 5.9604644775390625e-8;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x7c00) return reinterpret<f32>(sign | 0x7f800000 | ((h & 0x3ff) << 13));
  // Normal: move exponent and mantissa into place and rebias the exponent by 127 - 15.
  return reinterpret<f32>(sign | (((h & 0x7fff) << 13) + 0x38000000));
}

/** f32 → IEEE half bits, rounding to nearest with ties to even (as F16C's vcvtps2ph does). */
export function f32ToF16(value: f32): u32 {
  const bits = reinterpret<u32>(value);
  const sign = (bits >> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) return sign | (magnitude > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (magnitude >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds past the largest half
  if (magnitude < 0x38800000) {
    // Below 2⁻¹⁴ the result is subnormal: adding 0.5 leaves exactly round(|x| / 2⁻²⁴) in the
    // low mantissa bits, because f32's unit in [0.5, 1) is 2⁻²⁴, the half subnormal step.
    const shifted = reinterpret<f32>(magnitude) + <f32>0.5;
    return sign | (reinterpret<u32>(shifted) - 0x3f000000);
  }
  const odd = (magnitude >> 13) & 1;
  return sign | ((magnitude + 0xc8000fff + odd) >> 13); // 0xc8000000 rebiases 127 → 15
}

/**
 * Four finite IEEE halves, sign-extended into i32 lanes (v128.load16x4_s) → f32x4. Shifting the
 * half into f32 position and multiplying by 2¹¹² rebiases the exponent and turns half subnormals
 * into f32 normals in one exact step. Infinities and NaNs would come out finite: the host checks
 * f16 weights with hasNonFiniteF16 and keeps such matrices out of these kernels.
 */
@inline
export function f16x4ToF32x4(h: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), F16_MASK()), F16_REBIAS());
}

/** 1 if any of the `count` halves at p is ∞ or NaN (all-ones exponent), else 0. */
export function hasNonFiniteF16(p: usize, count: i32): i32 {
  let hits = i16x8.splat(0);
  let k = 0;
  for (; k + 8 <= count; k += 8) {
    const exponent = v128.and(v128.load(p + (<usize>k << 1)), F16_EXPONENT_BITS());
    hits = v128.or(hits, i16x8.eq(exponent, F16_EXPONENT_BITS()));
  }
  if (v128.any_true(hits)) return 1;
  for (; k < count; k++) if ((load<u16>(p + (<usize>k << 1)) & 0x7c00) == 0x7c00) return 1;
  return 0;
}

/** Four bfloat16 values (in the low half of i32 lanes) → f32x4: bfloat16 is f32's top half. */
@inline
export function bf16x4ToF32x4(h: v128): v128 {
  return i32x4.shl(h, 16);
}
