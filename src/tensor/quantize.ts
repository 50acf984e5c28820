// Block encoders, the inverses of dequantize.ts, writing GGML's byte layouts.
// q8_0, q4_0, q4_1, q5_0 and q5_1 follow llama.cpp's reference rules step for step (f32 arithmetic,
// emulated with Math.fround), so they give llama.cpp's bytes. The k-quants use a simpler rule than
// llama.cpp's iterative search (min/max per sub-block), which is correct but not byte-identical.
import { LoomError } from "../errors.js";
import { DTYPE_LAYOUTS } from "./blocks.js";
import { F16_TO_F32, f32ToBf16, f32ToF16 } from "./half.js";
import type { DType } from "./tensor.js";

type BlockEncoder = (x: Float32Array, at: number, out: Uint8Array, o: number) => void;

const f = Math.fround;

function putU16(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = v >>> 8;
}

function putU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
  out[o + 2] = (v >>> 16) & 0xff;
  out[o + 3] = v >>> 24;
}

/** C's roundf: halves go away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** The smallest f16 not below a positive x, so a scale rounded to f16 never shrinks the range. */
function f16NotBelow(x: number): number {
  const h = f32ToF16(x);
  return F16_TO_F32[h] < x && h < 0x7bff ? h + 1 : h;
}

/** The value of largest magnitude (first one on ties), keeping its sign. */
function signedAbsMax(x: Float32Array, at: number, n: number): number {
  let amax = 0, max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[at + j];
    if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
  }
  return max;
}

function minMax(x: Float32Array, at: number, n: number): [number, number] {
  let min = Infinity, max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[at + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

// d = max|x| / 127, q = round(x · (1/d)) half away from zero.
const q8_0: BlockEncoder = (x, at, out, o) => {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[at + j]));
  const d = f(amax / 127);
  const id = d ? f(1 / d) : 0;
  putU16(out, o, f32ToF16(d));
  for (let j = 0; j < 32; j++) out[o + 2 + j] = roundHalfAway(f(x[at + j] * id)) & 0xff;
};

// d = max / −8 (max the signed value of largest magnitude), q = min(15, trunc(x/d + 8.5)).
const q4_0: BlockEncoder = (x, at, out, o) => {
  const d = f(signedAbsMax(x, at, 32) / -8);
  const id = d ? f(1 / d) : 0;
  putU16(out, o, f32ToF16(d));
  for (let j = 0; j < 16; j++) {
    const lo = Math.min(15, Math.trunc(f(f(x[at + j] * id) + 8.5)));
    const hi = Math.min(15, Math.trunc(f(f(x[at + j + 16] * id) + 8.5)));
    out[o + 2 + j] = lo | (hi << 4);
  }
};

// d = (max − min) / 15, m = min, q = min(15, trunc((x − min)/d + 0.5)).
const q4_1: BlockEncoder = (x, at, out, o) => {
  const [min, max] = minMax(x, at, 32);
  const d = f((max - min) / 15);
  const id = d ? f(1 / d) : 0;
  putU16(out, o, f32ToF16(d));
  putU16(out, o + 2, f32ToF16(min));
  for (let j = 0; j < 16; j++) {
    const lo = Math.min(15, Math.trunc(f(f(f(x[at + j] - min) * id) + 0.5)));
    const hi = Math.min(15, Math.trunc(f(f(f(x[at + j + 16] - min) * id) + 0.5)));
    out[o + 4 + j] = lo | (hi << 4);
  }
};

// d = max / −16, q = min(31, trunc(x/d + 16.5)); fifth bits gathered into the 32-bit qh.
const q5_0: BlockEncoder = (x, at, out, o) => {
  const d = f(signedAbsMax(x, at, 32) / -16);
  const id = d ? f(1 / d) : 0;
  putU16(out, o, f32ToF16(d));
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const lo = Math.min(31, Math.trunc(f(f(x[at + j] * id) + 16.5)));
    const hi = Math.min(31, Math.trunc(f(f(x[at + j + 16] * id) + 16.5)));
    out[o + 6 + j] = (lo & 0xf) | ((hi & 0xf) << 4);
    qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
  }
  putU32(out, o + 2, qh >>> 0);
};

// d = (max − min) / 31, m = min, q = trunc((x − min)/d + 0.5).
const q5_1: BlockEncoder = (x, at, out, o) => {
  const [min, max] = minMax(x, at, 32);
  const d = f((max - min) / 31);
  const id = d ? f(1 / d) : 0;
  putU16(out, o, f32ToF16(d));
  putU16(out, o + 2, f32ToF16(min));
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const lo = Math.min(31, Math.trunc(f(f(f(x[at + j] - min) * id) + 0.5)));
    const hi = Math.min(31, Math.trunc(f(f(f(x[at + j + 16] - min) * id) + 0.5)));
    out[o + 8 + j] = (lo & 0xf) | ((hi & 0xf) << 4);
    qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
  }
  putU32(out, o + 4, qh >>> 0);
};

const levels = new Uint8Array(256);
const subMaxes = new Float32Array(8);
const subMins = new Float32Array(8);

/**
 * Shared by q4_k (maxLevel 15) and q5_k (31): each 32-value sub-block j gets x ≈ d·sc_j·q − dmin·m_j,
 * with sc_j, m_j 6-bit. Offsets are rounded up so the sub-block's minimum stays representable.
 * Writes d, dmin and the 12 packed scale bytes at `o`; leaves the levels in `levels`.
 */
function encodeKScalesAndLevels(x: Float32Array, at: number, out: Uint8Array, o: number, maxLevel: number): void {
  let maxScale = 0, maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const [lo, hi] = minMax(x, at + 32 * j, 32);
    const offset = Math.max(0, -lo);
    subMins[j] = offset;
    subMaxes[j] = hi;
    maxScale = Math.max(maxScale, (hi + offset) / maxLevel);
    maxMin = Math.max(maxMin, offset);
  }
  const dBits = f16NotBelow(maxScale / 63), dminBits = f16NotBelow(maxMin / 63);
  const d = F16_TO_F32[dBits], dmin = F16_TO_F32[dminBits];
  putU16(out, o, dBits);
  putU16(out, o + 2, dminBits);
  const scalesAt = o + 4;
  out.fill(0, scalesAt, scalesAt + 12);
  for (let j = 0; j < 8; j++) {
    const m = dmin > 0 ? Math.min(63, Math.ceil(subMins[j] / dmin)) : 0;
    const offset = dmin * m;
    const sc = d > 0 ? Math.min(63, Math.max(0, Math.ceil((subMaxes[j] + offset) / maxLevel / d))) : 0;
    const step = d * sc;
    for (let l = 0; l < 32; l++) {
      const q = step > 0 ? Math.round((x[at + 32 * j + l] + offset) / step) : 0;
      levels[32 * j + l] = Math.min(maxLevel, Math.max(0, q));
    }
    if (j < 4) {
      out[scalesAt + j] = sc;
      out[scalesAt + j + 4] = m;
    } else {
      out[scalesAt + j + 4] = (sc & 0xf) | ((m & 0xf) << 4);
      out[scalesAt + j - 4] |= (sc >> 4) << 6;
      out[scalesAt + j] |= (m >> 4) << 6;
    }
  }
}

const q4_k: BlockEncoder = (x, at, out, o) => {
  encodeKScalesAndLevels(x, at, out, o, 15);
  const qsAt = o + 16;
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let l = 0; l < 32; l++) out[qsAt + 32 * chunk + l] = levels[64 * chunk + l] | (levels[64 * chunk + 32 + l] << 4);
  }
};

const q5_k: BlockEncoder = (x, at, out, o) => {
  encodeKScalesAndLevels(x, at, out, o, 31);
  const qhAt = o + 16, qsAt = o + 48;
  out.fill(0, qhAt, qhAt + 32);
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let l = 0; l < 32; l++) {
      const lo = levels[64 * chunk + l], hi = levels[64 * chunk + 32 + l];
      out[qsAt + 32 * chunk + l] = (lo & 0xf) | ((hi & 0xf) << 4);
      out[qhAt + l] |= ((lo >> 4) << (2 * chunk)) | ((hi >> 4) << (2 * chunk + 1));
    }
  }
};

const groupScales = new Float32Array(16);

// 16 groups of 16 values: x ≈ d · sc_g · (q − 32), sc_g an int8, q 6-bit.
const q6_k: BlockEncoder = (x, at, out, o) => {
  let maxAbsScale = 0;
  for (let g = 0; g < 16; g++) {
    groupScales[g] = signedAbsMax(x, at + 16 * g, 16) / -32;
    maxAbsScale = Math.max(maxAbsScale, Math.abs(groupScales[g]));
  }
  const dBits = f16NotBelow(maxAbsScale / 127);
  const d = F16_TO_F32[dBits];
  for (let g = 0; g < 16; g++) {
    const sc = d > 0 ? Math.max(-128, Math.min(127, Math.round(groupScales[g] / d))) : 0;
    out[o + 192 + g] = sc & 0xff;
    const step = d * sc;
    for (let l = 0; l < 16; l++) {
      const q = step !== 0 ? Math.round(x[at + 16 * g + l] / step) : 0;
      levels[16 * g + l] = Math.max(-32, Math.min(31, q)) + 32;
    }
  }
  putU16(out, o + 208, dBits);
  for (let half = 0; half < 2; half++) {
    for (let l = 0; l < 32; l++) {
      const base = 128 * half + l;
      const v1 = levels[base], v2 = levels[base + 32], v3 = levels[base + 64], v4 = levels[base + 96];
      out[o + 64 * half + l] = (v1 & 0xf) | ((v3 & 0xf) << 4);
      out[o + 64 * half + l + 32] = (v2 & 0xf) | ((v4 & 0xf) << 4);
      out[o + 128 + 32 * half + l] = (v1 >> 4) | ((v2 >> 4) << 2) | ((v3 >> 4) << 4) | ((v4 >> 4) << 6);
    }
  }
};

const BLOCK_ENCODERS: Partial<Record<DType, BlockEncoder>> = { q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k };

/** Encodes `count` values (whole blocks) from `values[valuesOffset…]` into `out[outOffset…]`. */
export function quantizeRow(
  dtype: DType,
  values: Float32Array,
  valuesOffset: number,
  count: number,
  out: Uint8Array,
  outOffset = 0,
): void {
  const { blockSize, blockBytes } = DTYPE_LAYOUTS[dtype];
  if (count % blockSize !== 0) {
    throw new LoomError(`${dtype} stores values in blocks of ${blockSize}; ${count} values is not a whole number of blocks`);
  }
  const blocks = count / blockSize;
  if (valuesOffset + count > values.length || outOffset + blocks * blockBytes > out.length) {
    throw new LoomError(`quantizeRow: ${count} ${dtype} values run past the input or output`);
  }
  switch (dtype) {
    case "f32":
      out.set(new Uint8Array(values.buffer, values.byteOffset + 4 * valuesOffset, 4 * count), outOffset);
      return;
    case "f16":
      for (let i = 0; i < count; i++) putU16(out, outOffset + 2 * i, f32ToF16(values[valuesOffset + i]));
      return;
    case "bf16":
      for (let i = 0; i < count; i++) putU16(out, outOffset + 2 * i, f32ToBf16(values[valuesOffset + i]));
      return;
    default: {
      const encode = BLOCK_ENCODERS[dtype]!;
      for (let b = 0; b < blocks; b++) encode(values, valuesOffset + b * blockSize, out, outOffset + b * blockBytes);
    }
  }
}

/**
 * Encodes a row-major tensor whose rows hold `rowLength` values. Throws a LoomError when rows do not
 * fill whole blocks (writers then keep such tensors in f16, as llama.cpp does).
 */
export function quantize(values: Float32Array, dtype: DType, rowLength: number): Uint8Array {
  const { blockSize, blockBytes } = DTYPE_LAYOUTS[dtype];
  if (!Number.isSafeInteger(rowLength) || rowLength <= 0 || values.length % rowLength !== 0) {
    throw new LoomError(`quantize: ${values.length} values do not form rows of ${rowLength}`);
  }
  if (rowLength % blockSize !== 0) {
    throw new LoomError(`${dtype} needs rows that are a multiple of ${blockSize} values; got rows of ${rowLength}`);
  }
  if (dtype === "f32") return new Uint8Array(values.slice().buffer);
  const out = new Uint8Array((values.length / blockSize) * blockBytes);
  quantizeRow(dtype, values, 0, values.length, out, 0);
  return out;
}
