// Slow, obvious twins of the WebAssembly kernels: plain loops over plain numbers. Quantized dots
// follow llama.cpp's CPU path step by step (quantize the activations, integer dot per block, then
// f32 steps per block: for Q8_0/Q4_0 in four lanes as its AVX kernels do, for the k-quants one sum),
// and the WASM kernels take the very same f32 steps: results must be bit-identical. Dense products
// are compared with an f64 sum, up to f32 rounding.

const f = Math.fround;

// ---------------------------------------------------------------------------------------------
// 16-bit floats, by arithmetic rather than bit tricks (an independent check of the kernels' bits).

export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 31;
  const mantissa = h & 1023;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const rest = v - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The f16 nearest to a finite v (ties to even), as bits; values ≥ 65520 become infinity. */
export function numberToF16(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  let exponent = Math.max(Math.floor(Math.log2(a)), -14);
  if (2 ** exponent > a) exponent--; // log2 may round up just below a power of two
  if (2 ** (exponent + 1) <= a) exponent++;
  exponent = Math.max(exponent, -14);
  const unit = 2 ** (exponent - 10);
  let steps = roundHalfEven(a / unit); // 1024 .. 2048 for normals, 0 .. 1024 below 2^-14
  if (steps === 2048) {
    exponent++;
    steps = 1024;
  }
  if (exponent > 15) return sign | 0x7c00;
  if (steps < 1024) return sign | steps; // subnormal
  return sign | ((exponent + 15) << 10) | (steps - 1024);
}

export function bf16ToNumber(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (b & 0xffff) << 16);
  return view.getFloat32(0);
}

// ---------------------------------------------------------------------------------------------
// Activations.

export interface QuantizedActivations {
  /** Quantized values, one per input value. */
  q: Int32Array;
  /** One f32 scale per block. */
  d: Float32Array;
}

/**
 * llama.cpp's x86 quantize_row_q8_0 (the AVX path its CPU backend runs here): per 32 values
 * d = f16(amax / 127), q = roundHalfEven(x · (127 / amax)).
 */
export function quantizeQ8_0Ref(x: Float32Array): QuantizedActivations {
  const blocks = x.length / 32;
  const q = new Int32Array(x.length);
  const d = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
    d[b] = f16ToNumber(numberToF16(f(amax / 127)));
    const id = amax !== 0 ? f(127 / amax) : 0;
    for (let j = 0; j < 32; j++) q[32 * b + j] = roundHalfEven(f(x[32 * b + j] * id));
  }
  return { q, d };
}

/**
 * llama.cpp's quantize_row_q8_K_ref: per 256 values the first value of largest magnitude, max,
 * maps to -127: iscale = -127 / max, q = min(127, roundHalfEven(iscale · x)), d = 1 / iscale.
 */
export function quantizeQ8_KRef(x: Float32Array): QuantizedActivations {
  const blocks = x.length / 256;
  const q = new Int32Array(x.length);
  const d = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 256; j++) {
      const v = x[256 * b + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    if (amax === 0) continue; // d = 0, q = 0
    const iscale = f(-127 / max);
    for (let j = 0; j < 256; j++) q[256 * b + j] = Math.min(127, roundHalfEven(f(iscale * x[256 * b + j])));
    d[b] = f(1 / iscale);
  }
  return { q, d };
}

// ---------------------------------------------------------------------------------------------
// Weights: each block as integers and scales, read from GGML's byte layouts.

export type QuantDType = "q8_0" | "q4_0" | "q4_k" | "q6_k";

export const BLOCK = {
  q8_0: { values: 32, bytes: 34 },
  q4_0: { values: 32, bytes: 18 },
  q4_k: { values: 256, bytes: 144 },
  q6_k: { values: 256, bytes: 210 },
} as const;

function half(bytes: Uint8Array, at: number): number {
  return f16ToNumber(bytes[at] | (bytes[at + 1] << 8));
}

function i8(byte: number): number {
  return byte >= 128 ? byte - 256 : byte;
}

/** A weight block as w_i = d · scale(i) · q_i - dmin · min(i). */
export interface WeightBlock {
  d: number;
  dmin: number;
  /** Integer value of each of the block's values. */
  q: number[];
  /** Integer scale of each value (1 for single-scale blocks). */
  scale: number[];
  /** Integer min of each value (0 where there is none). */
  min: number[];
}

export function readBlock(dtype: QuantDType, bytes: Uint8Array, at: number): WeightBlock {
  const { values } = BLOCK[dtype];
  const q = new Array<number>(values).fill(0);
  const scale = new Array<number>(values).fill(1);
  const min = new Array<number>(values).fill(0);
  if (dtype === "q8_0") {
    for (let j = 0; j < 32; j++) q[j] = i8(bytes[at + 2 + j]);
    return { d: half(bytes, at), dmin: 0, q, scale, min };
  }
  if (dtype === "q4_0") {
    for (let j = 0; j < 16; j++) {
      q[j] = (bytes[at + 2 + j] & 15) - 8;
      q[j + 16] = (bytes[at + 2 + j] >> 4) - 8;
    }
    return { d: half(bytes, at), dmin: 0, q, scale, min };
  }
  if (dtype === "q4_k") {
    const s = (j: number): number => bytes[at + 4 + j];
    for (let sub = 0; sub < 8; sub++) {
      // 6-bit scale and min of each 32-value sub-block (llama.cpp's get_scale_min_k4).
      const sc = sub < 4 ? s(sub) & 63 : (s(sub + 4) & 15) | ((s(sub - 4) >> 6) << 4);
      const m = sub < 4 ? s(sub + 4) & 63 : (s(sub + 4) >> 4) | ((s(sub) >> 6) << 4);
      const chunk = sub >> 1;
      const high = sub & 1;
      for (let l = 0; l < 32; l++) {
        const byte = bytes[at + 16 + 32 * chunk + l];
        q[32 * sub + l] = high ? byte >> 4 : byte & 15;
        scale[32 * sub + l] = sc;
        min[32 * sub + l] = m;
      }
    }
    return { d: half(bytes, at), dmin: half(bytes, at + 2), q, scale, min };
  }
  // q6_k
  for (let h = 0; h < 2; h++) {
    const ql = at + 64 * h;
    const qh = at + 128 + 32 * h;
    const sc = at + 192 + 8 * h;
    for (let l = 0; l < 32; l++) {
      const low0 = bytes[ql + l], low1 = bytes[ql + l + 32], top = bytes[qh + l];
      const base = 128 * h + l;
      q[base] = ((low0 & 15) | (((top >> 0) & 3) << 4)) - 32;
      q[base + 32] = ((low1 & 15) | (((top >> 2) & 3) << 4)) - 32;
      q[base + 64] = ((low0 >> 4) | (((top >> 4) & 3) << 4)) - 32;
      q[base + 96] = ((low1 >> 4) | (((top >> 6) & 3) << 4)) - 32;
      const group = Math.floor(l / 16);
      scale[base] = i8(bytes[sc + group]);
      scale[base + 32] = i8(bytes[sc + group + 2]);
      scale[base + 64] = i8(bytes[sc + group + 4]);
      scale[base + 96] = i8(bytes[sc + group + 6]);
    }
  }
  return { d: half(bytes, at + 208), dmin: 0, q, scale, min };
}

/** Weight values of one row as numbers (for loose sanity checks against plain f32 math). */
export function dequantizeRowRef(dtype: QuantDType, bytes: Uint8Array, at: number, cols: number): Float64Array {
  const { values, bytes: size } = BLOCK[dtype];
  const out = new Float64Array(cols);
  for (let b = 0; b < cols / values; b++) {
    const block = readBlock(dtype, bytes, at + b * size);
    for (let j = 0; j < values; j++) {
      out[b * values + j] = f(f(block.d * block.scale[j]) * block.q[j]) - f(block.dmin * block.min[j]);
    }
  }
  return out;
}

/**
 * One weight row · one quantized activation row. Q4_K and Q6_K in llama.cpp's scalar order: per
 * block an exact integer sum sumi, then in f32 sum += f32(sumi) · (d_w · d_x); for Q4_K also
 * mins += f32(Σ min · x) · (dmin_w · d_x), and the result is sum - mins. Q8_0 and Q4_0 in its AVX
 * order: see lanedDotRef.
 */
export function quantizedDotRef(
  dtype: QuantDType, bytes: Uint8Array, at: number, x: QuantizedActivations, xAt: number, cols: number,
): number {
  if (dtype === "q8_0" || dtype === "q4_0") return lanedDotRef(dtype, bytes, at, x, xAt, cols);
  const { values, bytes: size } = BLOCK[dtype];
  let sum = 0;
  let mins = 0;
  for (let b = 0; b < cols / values; b++) {
    const block = readBlock(dtype, bytes, at + b * size);
    const dx = x.d[(xAt + b * values) / values];
    let sumi = 0;
    let minSum = 0;
    for (let j = 0; j < values; j++) {
      const xq = x.q[xAt + b * values + j];
      sumi += block.scale[j] * block.q[j] * xq;
      minSum += block.min[j] * xq;
    }
    sum = f(sum + f(f(sumi) * f(block.d * dx)));
    mins = f(mins + f(f(minSum) * f(block.dmin * dx)));
  }
  return f(sum - mins);
}

/**
 * Q8_0 / Q4_0 in four f32 lanes (llama.cpp's AVX order): lane l sums the products of the block's
 * values j with (j mod 8) >> 1 == l, which is where i32x4.dot_i16x8_s puts them (lane l of
 * dot(a, b) is a[2l]·b[2l] + a[2l+1]·b[2l+1]); per block acc[l] += f32(isum[l]) · f32(d_w · d_x)
 * (a rounded product, then a rounded sum); the result is (acc[0] + acc[1]) + (acc[2] + acc[3]).
 */
function lanedDotRef(
  dtype: "q8_0" | "q4_0", bytes: Uint8Array, at: number, x: QuantizedActivations, xAt: number, cols: number,
): number {
  const { bytes: size } = BLOCK[dtype];
  const acc = [0, 0, 0, 0];
  for (let b = 0; b < cols / 32; b++) {
    const block = readBlock(dtype, bytes, at + b * size);
    const scale = f(block.d * x.d[(xAt + b * 32) / 32]);
    const isum = [0, 0, 0, 0];
    for (let j = 0; j < 32; j++) isum[(j % 8) >> 1] += block.q[j] * x.q[xAt + b * 32 + j];
    for (let l = 0; l < 4; l++) acc[l] = f(acc[l] + f(f(isum[l]) * scale));
  }
  return f(f(acc[0] + acc[1]) + f(acc[2] + acc[3]));
}

/** out (n, rows) with every (row, token) dot from quantizedDotRef, activations quantized first. */
export function quantizedMatmulRef(
  dtype: QuantDType, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number,
): Float32Array {
  const activations = x.subarray(0, n * cols);
  const quantized = dtype === "q4_k" || dtype === "q6_k" ? quantizeQ8_KRef(activations) : quantizeQ8_0Ref(activations);
  const rowBytes = (cols / BLOCK[dtype].values) * BLOCK[dtype].bytes;
  const out = new Float32Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) out[t * rows + r] = quantizedDotRef(dtype, bytes, r * rowBytes, quantized, t * cols, cols);
  }
  return out;
}

/** out (n, rows) = x · Wᵀ for dense weights given as numbers, summed in f64; also Σ|w·x|. */
export function denseMatmulRef(
  w: ArrayLike<number>, rows: number, cols: number, x: Float32Array, n: number,
): { out: Float64Array; magnitude: Float64Array } {
  const out = new Float64Array(n * rows);
  const magnitude = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      let size = 0;
      for (let k = 0; k < cols; k++) {
        const p = w[r * cols + k] * x[t * cols + k];
        sum += p;
        size += Math.abs(p);
      }
      out[t * rows + r] = sum;
      magnitude[t * rows + r] = size;
    }
  }
  return { out, magnitude };
}
