// Helpers every kernel shares. One rule keeps prefill and decode bit-identical: each (row, token)
// output goes through the same f32 steps in the same order, whichever micro-kernel shape
// (4 rows × 1 token, 1 row × 4 tokens, …) happens to compute it.

// SIMD constants live in memory and are loaded where they are used. V8 rebuilds a v128 constant
// at every use, inside hot loops (several instructions each time); a load from a fixed address
// folds into the instruction that uses it (vpand xmm, xmm, [mem]) and costs nothing extra.
const CONSTANTS = memory.data<u32>([
  0x0f0f0f0f, 0x0f0f0f0f, 0x0f0f0f0f, 0x0f0f0f0f, //   0: bytes 0x0f (low nibble mask)
  0x08080808, 0x08080808, 0x08080808, 0x08080808, //  16: bytes 8 (Q4_0 offset)
  0x30303030, 0x30303030, 0x30303030, 0x30303030, //  32: bytes 0x30 (Q6_K high bits)
  0x20202020, 0x20202020, 0x20202020, 0x20202020, //  48: bytes 32 (Q6_K offset)
  0x8fffe000, 0x8fffe000, 0x8fffe000, 0x8fffe000, //  64: f16 sign|exponent|mantissa << 13
  0x77800000, 0x77800000, 0x77800000, 0x77800000, //  80: f32 2^112 (f16 → f32 rebias)
  0x7c007c00, 0x7c007c00, 0x7c007c00, 0x7c007c00, //  96: f16 exponent field, 8 halves
  0x000f000f, 0x000f000f, 0x000f000f, 0x000f000f, // 112: i16 0x000f (low nibble of each 16-bit lane)
  0x00080008, 0x00080008, 0x00080008, 0x00080008, // 128: i16 8 (Q4_0 offset, 16-bit lanes)
], 16);

@inline export function NIBBLE(): v128 { return v128.load(CONSTANTS, 0); }
@inline export function EIGHT(): v128 { return v128.load(CONSTANTS, 16); }
@inline export function Q6_HIGH_BITS(): v128 { return v128.load(CONSTANTS, 32); }
@inline export function THIRTY_TWO(): v128 { return v128.load(CONSTANTS, 48); }
@inline export function F16_MASK(): v128 { return v128.load(CONSTANTS, 64); }
@inline export function F16_REBIAS(): v128 { return v128.load(CONSTANTS, 80); }
@inline export function F16_EXPONENT_BITS(): v128 { return v128.load(CONSTANTS, 96); }
@inline export function NIBBLE16(): v128 { return v128.load(CONSTANTS, 112); }
@inline export function EIGHT16(): v128 { return v128.load(CONSTANTS, 128); }

/** Horizontal sum of f32x4, always in the order (l0 + l1) + (l2 + l3). */
@inline
export function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Integer dot product of 8 × i16 pairs, as i32x4 partial sums. */
@inline
export function dot8(a: v128, b: v128): v128 {
  return i32x4.dot_i16x8_s(a, b);
}

/** The four i32 lanes added up (exact: integer). */
@inline
export function sumInts(v: v128): i32 {
  return (i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1)) + (i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3));
}

/** [Σa, Σb, Σc, Σd]: the lane sums of four i32x4 vectors, by a 4 × 4 transpose. */
@inline
export function sum4x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7)); // a02 b02 a13 b13
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

@inline
export function min32(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

/**
 * How many rows to keep hot in cache while every token tile streams past them in a prefill:
 * about 96 KiB of weights, at least `unit` rows, a multiple of `unit`.
 */
@inline
export function rowBlock(rowBytes: i32, unit: i32): i32 {
  let rows = (96 * 1024) / rowBytes;
  rows -= rows % unit;
  return rows < unit ? unit : rows;
}
