// e^x four lanes at a time, for the activations and attention's softmax.
//
//   x = n·ln2 + r,  n = round(x / ln2),  |r| ≤ ln2/2
//   e^x = 2^n · (1 + r + r²·P(r))
//
// ln2 is split in two (ln2_hi has 9 significant bits, so n·ln2_hi is exact for |n| < 2^15 and
// x − n·ln2_hi loses nothing). P is a degree-4 fit of (e^r − 1 − r)/r² over |r| ≤ ln2/2, made for
// this file with a Lawson-weighted least-squares fit: relative error 3·10⁻⁹ in exact arithmetic,
// well under f32's 6·10⁻⁸ unit, so the result is within ~1 ulp. 2^n is applied as 2^⌊n/2⌋·2^⌈n/2⌉
// so every n in [−150, 128] gives a normal scale factor: results below 2⁻¹²⁶ round gradually
// into subnormals and to 0, results above f32's range become +∞. x is clamped to [−104, 89]
// first, which keeps n in that range (−∞ → 0, +∞ → +∞; NaN stays NaN).
//
// Speed (V8 on x64): clamping uses pmin/pmax (one instruction each; min/max's NaN rules cost
// several), and n is rounded by adding 1.5·2²³, which leaves round(x/ln2) (ties to even, as
// f32x4.nearest) in the low mantissa bits: n is those bits, with no float → int conversion.

const EXP_CONSTANTS = memory.data<f32>([
  -104, -104, -104, -104, //                                            0: lowest x (e^x rounds to 0)
  89, 89, 89, 89, //                                                   16: highest x (e^x overflows)
  1.44269504, 1.44269504, 1.44269504, 1.44269504, //                   32: 1/ln2
  0.693359375, 0.693359375, 0.693359375, 0.693359375, //               48: ln2_hi
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, //  64: ln2_lo = ln2 − ln2_hi
  0.0013814613, 0.0013814613, 0.0013814613, 0.0013814613, //           80: P(r) = c0 + c1·r + … + c4·r⁴
  0.0083687101, 0.0083687101, 0.0083687101, 0.0083687101, //           96
  0.041668389, 0.041668389, 0.041668389, 0.041668389, //              112
  0.16666521, 0.16666521, 0.16666521, 0.16666521, //                  128
  0.49999994, 0.49999994, 0.49999994, 0.49999994, //                  144
  1, 1, 1, 1, //                                                      160
  12582912, 12582912, 12582912, 12582912, //                          176: 1.5·2²³ (rounds to integers)
], 16);

const EXPM1_RANGE = memory.data<u32>([
  0xc2ae0000, 0xc2ae0000, 0xc2ae0000, 0xc2ae0000, //  0: −87 (e^x − 1 rounds to −1 well before)
  0x42b00000, 0x42b00000, 0x42b00000, 0x42b00000, // 16: 88 (keeps 2^n finite)
  0xc0000000, 0xc0000000, 0xc0000000, 0xc0000000, // 32: −2
  0x40000000, 0x40000000, 0x40000000, 0x40000000, // 48: 2
  0x80000000, 0x80000000, 0x80000000, 0x80000000, // 64: sign bit
], 16);

// Integer lanes (loaded, not rebuilt: see common.ts): the bits of 1.5·2²³, and f32's exponent bias.
const EXP_BITS = memory.data<i32>([
  0x4b400000, 0x4b400000, 0x4b400000, 0x4b400000, //  0
  127, 127, 127, 127, //                             16
], 16);

/**
 * e^r − 1 = r + r²·P(r) for the reduced argument r = x − n·ln 2 (in two parts, exactly), where
 * `shifted` = x·log₂e + 1.5·2²³ holds n in its low bits.
 */
@inline
function expm1Reduced(x: v128, shifted: v128): v128 {
  const c = EXP_CONSTANTS;
  const nf = f32x4.sub(shifted, v128.load(c, 176));
  let r = f32x4.sub(x, f32x4.mul(nf, v128.load(c, 48)));
  r = f32x4.sub(r, f32x4.mul(nf, v128.load(c, 64)));
  let p = f32x4.add(f32x4.mul(v128.load(c, 80), r), v128.load(c, 96));
  p = f32x4.add(f32x4.mul(p, r), v128.load(c, 112));
  p = f32x4.add(f32x4.mul(p, r), v128.load(c, 128));
  p = f32x4.add(f32x4.mul(p, r), v128.load(c, 144));
  return f32x4.add(f32x4.mul(f32x4.mul(r, r), p), r);
}

/** Four lanes of e^x (see above). */
@inline
export function expF32x4(x: v128): v128 {
  const c = EXP_CONSTANTS;
  x = f32x4.pmin(f32x4.pmax(x, v128.load(c, 0)), v128.load(c, 16));
  const shifted = f32x4.add(f32x4.mul(x, v128.load(c, 32)), v128.load(c, 176)); // 1.5·2²³ + n
  const e = f32x4.add(expm1Reduced(x, shifted), v128.load(c, 160));
  // 2^n = 2^a · 2^b with a = n >> 1 (floor) and b = n − a, each built from exponent bits.
  const n = i32x4.sub(shifted, v128.load(EXP_BITS, 0));
  const a = i32x4.shr_s(n, 1);
  const b = i32x4.sub(n, a);
  const scaleA = i32x4.shl(i32x4.add(a, v128.load(EXP_BITS, 16)), 23);
  const scaleB = i32x4.shl(i32x4.add(b, v128.load(EXP_BITS, 16)), 23);
  return f32x4.mul(f32x4.mul(e, scaleA), scaleB);
}

/**
 * Four lanes of e^x − 1 for x ≤ 88 (larger x is taken as 88), accurate near 0 where e^x − 1
 * cancels: with 2^n exact, e^x − 1 = (2^n − 1) + 2^n·(r + r²·P(r)), and n = 0 leaves only the
 * polynomial. tanh uses it for small arguments.
 */
@inline
export function expm1F32x4(x: v128): v128 {
  const c = EXP_CONSTANTS;
  x = f32x4.pmin(f32x4.pmax(x, v128.load(EXPM1_RANGE, 0)), v128.load(EXPM1_RANGE, 16));
  const shifted = f32x4.add(f32x4.mul(x, v128.load(c, 32)), v128.load(c, 176)); // 1.5·2²³ + n
  const q = expm1Reduced(x, shifted); // e^r − 1
  // n ∈ [−126, 127] here, so 2^n is one normal f32.
  const scale = i32x4.shl(i32x4.add(i32x4.sub(shifted, v128.load(EXP_BITS, 0)), v128.load(EXP_BITS, 16)), 23);
  return f32x4.add(f32x4.sub(scale, v128.load(c, 160)), f32x4.mul(scale, q));
}

/** Four lanes of tanh(y) = sign(y)·(1 − e^−2|y|)/(1 + e^−2|y|), written with e^x − 1 so small |y| keep full precision. */
@inline
export function tanhF32x4(y: v128): v128 {
  const m = expm1F32x4(f32x4.mul(f32x4.abs(y), v128.load(EXPM1_RANGE, 32))); // e^−2|y| − 1 ∈ (−1, 0]
  const t = f32x4.abs(f32x4.div(m, f32x4.add(m, v128.load(EXPM1_RANGE, 48)))); // abs: +0 at y = 0
  return v128.or(t, v128.and(y, v128.load(EXPM1_RANGE, 64)));
}

/** e^x for one value, through the same arithmetic as expF32x4 (so both give the same bits). */
@inline
export function expF32(x: f32): f32 {
  return f32x4.extract_lane(expF32x4(f32x4.splat(x)), 0);
}
