// 16-bit floats: IEEE half (f16) and bfloat16, both converted with round-to-nearest-even,
// the rounding GGML, PyTorch and F16C hardware use.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function decodeF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Every f16 bit pattern decoded once: f16 → f32 is a table lookup in hot loops. */
export const F16_TO_F32: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = decodeF16(h);
  return table;
})();

export function f16ToF32(h: number): number {
  return F16_TO_F32[h & 0xffff];
}

/** Rounds a float to the nearest f16 (ties to even) and returns its 16 bits. */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent >= 1) {
    // Normal: drop 13 mantissa bits; a carry out of the mantissa bumps the exponent (up to inf).
    let h = (halfExponent << 10) | (mantissa >>> 13);
    const dropped = mantissa & 0x1fff;
    if (dropped > 0x1000 || (dropped === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  // Subnormal half: value = m · 2^-24, with the implicit leading bit made explicit.
  const shift = 14 - halfExponent;
  if (shift >= 25) return sign;
  const full = mantissa | 0x800000;
  let h = full >>> shift;
  const dropped = full & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (dropped > halfway || (dropped === halfway && h & 1)) h++;
  return sign | h;
}

export function bf16ToF32(b: number): number {
  scratchU32[0] = (b & 0xffff) << 16;
  return scratchF32[0];
}

/** Rounds a float to the nearest bfloat16 (ties to even); NaN stays a quiet NaN. */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
