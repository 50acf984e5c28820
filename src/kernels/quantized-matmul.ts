/**
 * Products with Q8_0 and Q4_0 weights the way llama.cpp's x86 CPU backend takes them: the
 * activations are quantized to Q8_0 blocks first, then each block is an exact integer dot product,
 * scaled and summed in f32. The TypeScript twin of the WebAssembly kernels
 * (src/kernels/wasm/assembly/blocks32.ts), which take exactly these f32 steps, so the two agree
 * bit for bit.
 *
 *   activations, per 32 values: d = f16(amax / 127), q = roundHalfEven(x · (127 / amax))
 *   weights:  q8_0 block = f16 d, 32 × i8;   q4_0 block = f16 d, 16 bytes of nibbles (value − 8)
 *   four f32 lanes per (row, token), as llama.cpp's AVX kernels keep them; per block b, lane l:
 *     isum[l] = Σ q_w,k · q_x,k over the block's values k with (k mod 8) >> 1 == l (exact)
 *     acc[l] = f32(acc[l] + f32(f32(isum[l]) · f32(d_w · d_x)))
 *   result: f32(f32(acc[0] + acc[1]) + f32(acc[2] + acc[3]))
 * (Lane l of WebAssembly's i32x4.dot_i16x8_s(a, b) is a[2l]·b[2l] + a[2l+1]·b[2l+1], and the
 * kernels add the dots of a block's four groups of 8 values lane by lane.)
 */
import { F16_TO_F32, f32ToF16 } from "../tensor/half.js";

export type BlockDType = "q8_0" | "q4_0";

const f = Math.fround;

/** Bytes per block of 32 values. */
export const BLOCK_BYTES: Readonly<Record<BlockDType, number>> = { q8_0: 34, q4_0: 18 };

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const rest = v - floor;
  if (rest !== 0.5) return Math.round(v);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Quantizes `count` values of x (from `at`, a multiple of 32) into q (one integer per value) and d
 * (one f32 scale per block), as llama.cpp's x86 quantize_row_q8_0.
 */
export function quantizeActivationsQ8_0(x: Float32Array, at: number, count: number, q: Int32Array, d: Float32Array): void {
  for (let b = 0; b < count / 32; b++) {
    const base = at + 32 * b;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    d[b] = F16_TO_F32[f32ToF16(f(amax / 127))];
    const scale = amax !== 0 ? f(127 / amax) : 0;
    for (let j = 0; j < 32; j++) q[32 * b + j] = roundHalfEven(f(x[base + j] * scale));
  }
}

/** The weight block at byte `at` of w as 32 integers (value − 8 for Q4_0) into `values`. */
function blockValues(dtype: BlockDType, w: Uint8Array, at: number, values: Int32Array): void {
  if (dtype === "q8_0") {
    for (let j = 0; j < 32; j++) values[j] = (w[at + 2 + j] << 24) >> 24;
  } else {
    for (let j = 0; j < 16; j++) {
      const byte = w[at + 2 + j];
      values[j] = (byte & 15) - 8;
      values[j + 16] = (byte >> 4) - 8;
    }
  }
}

/** Working memory for `quantizedMatmul`: one row of quantized activations. */
export interface QuantizedScratch {
  q: Int32Array;
  d: Float32Array;
}

export function createQuantizedScratch(cols: number): QuantizedScratch {
  return { q: new Int32Array(cols), d: new Float32Array(cols / 32) };
}

/** out (n, rows) = x (n, cols) · Wᵀ with W (rows, cols) stored as `dtype` blocks in w. */
export function quantizedMatmul(
  out: Float32Array, x: Float32Array, w: Uint8Array, dtype: BlockDType,
  n: number, rows: number, cols: number, scratch: QuantizedScratch,
): void {
  const blocks = cols / 32;
  const blockBytes = BLOCK_BYTES[dtype];
  const { q, d } = scratch;
  const v = new Int32Array(32);
  for (let t = 0; t < n; t++) {
    quantizeActivationsQ8_0(x, t * cols, cols, q, d);
    for (let r = 0; r < rows; r++) {
      let acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
      for (let b = 0; b < blocks; b++) {
        const at = (r * blocks + b) * blockBytes;
        blockValues(dtype, w, at, v);
        // Lane l: values k = 8g + 2l and 8g + 2l + 1 of each group g of 8.
        let i0 = 0, i1 = 0, i2 = 0, i3 = 0;
        for (let k = 0, j = 32 * b; k < 32; k += 8, j += 8) {
          i0 += v[k] * q[j] + v[k + 1] * q[j + 1];
          i1 += v[k + 2] * q[j + 2] + v[k + 3] * q[j + 3];
          i2 += v[k + 4] * q[j + 4] + v[k + 5] * q[j + 5];
          i3 += v[k + 6] * q[j + 6] + v[k + 7] * q[j + 7];
        }
        const scale = f(F16_TO_F32[w[at] | (w[at + 1] << 8)] * d[b]);
        acc0 = f(acc0 + f(i0 * scale));
        acc1 = f(acc1 + f(i1 * scale));
        acc2 = f(acc2 + f(i2 * scale));
        acc3 = f(acc3 + f(i3 * scale));
      }
      out[t * rows + r] = f(f(acc0 + acc1) + f(acc2 + acc3));
    }
  }
}
