// Seeded test data for the WebAssembly kernels: activations and weight blocks in every format.
import { BLOCK, numberToF16, type QuantDType } from "./reference.js";

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Activations: roughly normal values with an occasional outlier, as hidden states look. */
export function activations(random: () => number, count: number): Float32Array {
  const x = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const normal = (random() + random() + random() - 1.5) * 2;
    x[i] = random() < 0.01 ? normal * 20 : normal;
  }
  return x;
}

/**
 * Activations that hit the quantizers' edge cases: an all-zero block, and blocks of half-integers
 * whose scale is exactly 1 (amax = 127), so x · scale lands on .5 and the tie rule decides.
 */
export function edgeCaseActivations(random: () => number, count: number, blockLen: number): Float32Array {
  const x = activations(random, count);
  const blocks = count / blockLen;
  if (blocks >= 1) x.fill(0, 0, blockLen);
  for (let b = 1; b < blocks; b += 2) {
    const at = b * blockLen;
    for (let j = 0; j < blockLen; j++) x[at + j] = Math.floor(random() * 200 - 100) + 0.5;
    x[at + Math.floor(random() * blockLen)] = random() < 0.5 ? 127 : -127;
  }
  return x;
}

function f16Bytes(value: number, out: Uint8Array, at: number): void {
  const h = numberToF16(value);
  out[at] = h & 0xff;
  out[at + 1] = h >> 8;
}

/** rows × cols weights in a GGML block format: random quants, realistic positive scales. */
export function quantizedWeights(random: () => number, dtype: QuantDType, rows: number, cols: number): Uint8Array {
  const { values, bytes } = BLOCK[dtype];
  const blocks = rows * (cols / values);
  const out = new Uint8Array(blocks * bytes);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
  for (let b = 0; b < blocks; b++) {
    const at = b * bytes;
    const scale = 0.0005 + random() * 0.02;
    if (dtype === "q8_0" || dtype === "q4_0") f16Bytes(scale, out, at);
    else if (dtype === "q4_k") {
      f16Bytes(scale, out, at);
      f16Bytes(scale / 2, out, at + 2); // dmin
    } else f16Bytes(scale / 16, out, at + 208);
  }
  return out;
}

/** Random finite f16 bit patterns of moderate size (|v| < 2), subnormals included. */
export function f16Weights(random: () => number, count: number): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(random() * 0x3c00) | (random() < 0.5 ? 0x8000 : 0);
  return out;
}

/** Random bfloat16 bit patterns of moderate size. */
export function bf16Weights(random: () => number, count: number): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = (0x3a00 + Math.floor(random() * 0x600)) | (random() < 0.5 ? 0x8000 : 0);
  return out;
}
