/**
 * Products with Q8_0 and Q4_0 weights the way llama.cpp's x86 CPU backend takes them: the
 * activations are quantized to Q8_0 blocks first, then each block is an exact integer dot product,
 * scaled and summed in f32. The TypeScript reference of the WebAssembly kernels
 * (src/kernels/wasm/assembly/blocks32.ts), which take exactly these f32 steps, so the two agree
 * bit for bit.
 *
 *   activations, per 32 values: d = f16(amax / 127), q = roundHalfEven(x · (127 / amax))
 *   weights:  q8_0 block = f16 d, 32 × i8;   q4_0 block = f16 d, 16 bytes of nibbles (value − 8)
 *   per block b:  sum = f32(sum + f32(f32(Σ q_w·q_x) · f32(d_w · d_x)))
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

/** Σ q_w·q_x over one weight block (at byte `at` of w) and 32 quantized activations from q[qAt]. */
function blockDot(dtype: BlockDType, w: Uint8Array, at: number, q: Int32Array, qAt: number): number {
  let sum = 0;
  if (dtype === "q8_0") {
    for (let j = 0; j < 32; j++) sum += ((w[at + 2 + j] << 24) >> 24) * q[qAt + j];
  } else {
    for (let j = 0; j < 16; j++) {
      const byte = w[at + 2 + j];
      sum += ((byte & 15) - 8) * q[qAt + j] + ((byte >> 4) - 8) * q[qAt + 16 + j];
    }
  }
  return sum;
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
  for (let t = 0; t < n; t++) {
    quantizeActivationsQ8_0(x, t * cols, cols, q, d);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let b = 0; b < blocks; b++) {
        const at = (r * blocks + b) * blockBytes;
        const scale = f(F16_TO_F32[w[at] | (w[at + 1] << 8)] * d[b]);
        sum = f(sum + f(blockDot(dtype, w, at, q, 32 * b) * scale));
      }
      out[t * rows + r] = sum;
    }
  }
}
