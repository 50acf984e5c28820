// Block decoders for every dtype. Layouts follow GGML (ggml-common.h): all multi-byte fields are
// little-endian, scales `d`/`m` are f16. Within a 32-value block, byte j of `qs` holds value j in its
// low nibble and value j + 16 in its high nibble.
import { LoomError } from "../errors.js";
import { DTYPE_LAYOUTS, tensorBytes } from "./blocks.js";
import { F16_TO_F32, bf16ToF32 } from "./half.js";
import { numel, shapeString, type DType, type RawTensor } from "./tensor.js";

type BlockDecoder = (bytes: Uint8Array, at: number, out: Float32Array, o: number) => void;

function f16At(bytes: Uint8Array, at: number): number {
  return F16_TO_F32[bytes[at] | (bytes[at + 1] << 8)];
}

function u32At(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

// x = d · q, q an int8.
const q8_0: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  for (let j = 0; j < 32; j++) out[o + j] = d * ((bytes[at + 2 + j] << 24) >> 24);
};

// x = d · (q − 8), q a nibble.
const q4_0: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  for (let j = 0; j < 16; j++) {
    const q = bytes[at + 2 + j];
    out[o + j] = d * ((q & 0xf) - 8);
    out[o + j + 16] = d * ((q >> 4) - 8);
  }
};

// x = d · q + m.
const q4_1: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  const m = f16At(bytes, at + 2);
  for (let j = 0; j < 16; j++) {
    const q = bytes[at + 4 + j];
    out[o + j] = d * (q & 0xf) + m;
    out[o + j + 16] = d * (q >> 4) + m;
  }
};

// 5-bit q: low nibble from qs, fifth bit for value j is bit j of the 32-bit qh. x = d · (q − 16).
const q5_0: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  const qh = u32At(bytes, at + 2);
  for (let j = 0; j < 16; j++) {
    const q = bytes[at + 6 + j];
    out[o + j] = d * (((q & 0xf) | (((qh >>> j) & 1) << 4)) - 16);
    out[o + j + 16] = d * (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16);
  }
};

// x = d · q + m with the q5_0 bit layout.
const q5_1: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  const m = f16At(bytes, at + 2);
  const qh = u32At(bytes, at + 4);
  for (let j = 0; j < 16; j++) {
    const q = bytes[at + 8 + j];
    out[o + j] = d * ((q & 0xf) | (((qh >>> j) & 1) << 4)) + m;
    out[o + j + 16] = d * ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) + m;
  }
};

/**
 * The 6-bit scale and min of sub-block j (0..7) of a q4_k/q5_k super-block, packed in 12 bytes:
 * sub-blocks 0..3 sit in the low 6 bits of bytes j and j+4; sub-blocks 4..7 keep their low 4 bits in
 * byte j+4 (scale low nibble, min high nibble) and their top 2 bits in the spare top bits of bytes
 * j-4 (scale) and j (min).
 */
export function kScaleMin(bytes: Uint8Array, scalesAt: number, j: number, into: Int32Array): void {
  if (j < 4) {
    into[0] = bytes[scalesAt + j] & 63;
    into[1] = bytes[scalesAt + j + 4] & 63;
  } else {
    into[0] = (bytes[scalesAt + j + 4] & 0xf) | ((bytes[scalesAt + j - 4] >> 6) << 4);
    into[1] = (bytes[scalesAt + j + 4] >> 4) | ((bytes[scalesAt + j] >> 6) << 4);
  }
}

const scaleMin = new Int32Array(2);

// 256 values in 8 sub-blocks of 32: x = d · scale_j · q − dmin · min_j. The 128 qs bytes come in
// four 32-byte chunks; chunk c holds values 64c..64c+31 in low nibbles and 64c+32..64c+63 in high ones.
const q4_k: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  const dmin = f16At(bytes, at + 2);
  const scalesAt = at + 4;
  const qsAt = at + 16;
  for (let chunk = 0; chunk < 4; chunk++) {
    kScaleMin(bytes, scalesAt, 2 * chunk, scaleMin);
    const d1 = d * scaleMin[0], m1 = dmin * scaleMin[1];
    kScaleMin(bytes, scalesAt, 2 * chunk + 1, scaleMin);
    const d2 = d * scaleMin[0], m2 = dmin * scaleMin[1];
    const base = o + 64 * chunk;
    for (let l = 0; l < 32; l++) {
      const q = bytes[qsAt + 32 * chunk + l];
      out[base + l] = d1 * (q & 0xf) - m1;
      out[base + 32 + l] = d2 * (q >> 4) - m2;
    }
  }
};

// q4_k plus a fifth bit: qh[l] bit 2c carries value 64c + l, bit 2c+1 value 64c + 32 + l.
const q5_k: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at);
  const dmin = f16At(bytes, at + 2);
  const scalesAt = at + 4;
  const qhAt = at + 16;
  const qsAt = at + 48;
  for (let chunk = 0; chunk < 4; chunk++) {
    kScaleMin(bytes, scalesAt, 2 * chunk, scaleMin);
    const d1 = d * scaleMin[0], m1 = dmin * scaleMin[1];
    kScaleMin(bytes, scalesAt, 2 * chunk + 1, scaleMin);
    const d2 = d * scaleMin[0], m2 = dmin * scaleMin[1];
    const base = o + 64 * chunk;
    for (let l = 0; l < 32; l++) {
      const q = bytes[qsAt + 32 * chunk + l];
      const h = bytes[qhAt + l] >> (2 * chunk);
      out[base + l] = d1 * ((q & 0xf) | ((h & 1) << 4)) - m1;
      out[base + 32 + l] = d2 * ((q >> 4) | ((h & 2) << 3)) - m2;
    }
  }
};

// 256 values in two halves of 128. In a half, value l + 32k (l < 32, k < 4) takes its low 4 bits from
// ql[l + 32(k & 1)] (low nibble for k < 2, high for k ≥ 2) and its top 2 bits from qh[l] >> 2k.
// x = d · scales[v / 16] · (q − 32), scales int8.
const q6_k: BlockDecoder = (bytes, at, out, o) => {
  const d = f16At(bytes, at + 208);
  for (let half = 0; half < 2; half++) {
    const qlAt = at + 64 * half;
    const qhAt = at + 128 + 32 * half;
    const scAt = at + 192 + 8 * half;
    const base = o + 128 * half;
    for (let l = 0; l < 32; l++) {
      const lo = bytes[qlAt + l], hi = bytes[qlAt + l + 32], h = bytes[qhAt + l];
      const s = l >> 4;
      const q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((hi & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
      out[base + l] = d * ((bytes[scAt + s] << 24) >> 24) * q1;
      out[base + l + 32] = d * ((bytes[scAt + s + 2] << 24) >> 24) * q2;
      out[base + l + 64] = d * ((bytes[scAt + s + 4] << 24) >> 24) * q3;
      out[base + l + 96] = d * ((bytes[scAt + s + 6] << 24) >> 24) * q4;
    }
  }
};

const BLOCK_DECODERS: Partial<Record<DType, BlockDecoder>> = { q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k };

/**
 * Decodes `count` consecutive values (whole blocks) of `dtype` starting at `bytes[byteOffset]`
 * into `out[outOffset…]`. Allocates no buffers.
 */
export function dequantizeRow(
  dtype: DType,
  bytes: Uint8Array,
  byteOffset: number,
  count: number,
  out: Float32Array,
  outOffset = 0,
): void {
  const { blockSize, blockBytes } = DTYPE_LAYOUTS[dtype];
  if (count % blockSize !== 0) {
    throw new LoomError(`dequantizeRow: ${count} values is not a whole number of ${dtype} blocks of ${blockSize}`);
  }
  const blocks = count / blockSize;
  if (byteOffset < 0 || byteOffset + blocks * blockBytes > bytes.length || outOffset + count > out.length) {
    throw new LoomError(`dequantizeRow: ${count} ${dtype} values at byte ${byteOffset} run past the input or output`);
  }
  switch (dtype) {
    case "f32":
      if ((bytes.byteOffset + byteOffset) % 4 === 0) {
        out.set(new Float32Array(bytes.buffer, bytes.byteOffset + byteOffset, count), outOffset);
      } else {
        const view = new DataView(bytes.buffer, bytes.byteOffset + byteOffset, count * 4);
        for (let i = 0; i < count; i++) out[outOffset + i] = view.getFloat32(4 * i, true);
      }
      return;
    case "f16":
      for (let i = 0, at = byteOffset; i < count; i++, at += 2) out[outOffset + i] = F16_TO_F32[bytes[at] | (bytes[at + 1] << 8)];
      return;
    case "bf16":
      for (let i = 0, at = byteOffset; i < count; i++, at += 2) out[outOffset + i] = bf16ToF32(bytes[at] | (bytes[at + 1] << 8));
      return;
    default: {
      const decode = BLOCK_DECODERS[dtype]!;
      for (let b = 0; b < blocks; b++) decode(bytes, byteOffset + b * blockBytes, out, outOffset + b * blockSize);
    }
  }
}

/** The whole tensor as fresh f32 values (row-major, same shape). */
export function dequantize(t: RawTensor): Float32Array {
  const expected = tensorBytes(t.dtype, t.shape);
  if (t.bytes.length !== expected) {
    throw new LoomError(
      `tensor "${t.name}": ${t.dtype} ${shapeString(t.shape)} needs ${expected} bytes but holds ${t.bytes.length}`,
    );
  }
  const out = new Float32Array(numel(t.shape));
  dequantizeRow(t.dtype, t.bytes, 0, out.length, out, 0);
  return out;
}

/** A zero-copy f32 view of an f32 tensor when its bytes are 4-byte aligned, else undefined. */
export function float32View(t: RawTensor): Float32Array | undefined {
  if (t.dtype !== "f32" || (t.bytes.byteOffset & 3) !== 0) return undefined;
  return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length >> 2);
}
