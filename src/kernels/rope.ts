/**
 * Rotary position embeddings. Position p rotates pair i of each head by the angle p·invFreq[i].
 * Two conventions pair the dimensions differently:
 *
 *  - "neox" (rotate-half): pair i is (i, i + rotDim/2). HF Llama/Qwen2 checkpoints and GGUF `qwen2`.
 *  - "normal" (adjacent pairs): pair i is (2i, 2i+1). GGUF `llama` files, whose Q/K rows the
 *    converter permuted so that this cheaper pairing gives the same attention scores.
 *
 * Angles come from precomputed tables cos/sin (nCtx, rotDim/2), filled by fillRopeTables.
 */
export type RopeStyle = "neox" | "normal";

export interface RopeDims {
  seqLen: number;
  nHeads: number;
  headDim: number;
  /** Leading dims of each head that rotate; the rest pass through unchanged. */
  rotDim: number;
  /** Position of row 0 of x. */
  startPos: number;
}

/** invFreq[i] = theta^(−2i/rotDim) for i < rotDim/2, as HF's default rotary embedding. */
export function ropeInvFreq(rotDim: number, theta: number): Float64Array {
  const half = rotDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / rotDim);
  return inv;
}

/** Divides each frequency by its factor, as llama.cpp does with a GGUF `rope_freqs` tensor. */
export function applyRopeFreqFactors(invFreq: Float64Array, factors: ArrayLike<number>): void {
  for (let i = 0; i < invFreq.length; i++) invFreq[i] /= factors[i];
}

/** Llama 3.1's `rope_scaling` of type "llama3". */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/**
 * Per-frequency divisors for "llama3" scaling: long wavelengths are slowed by `factor`, short ones
 * kept, and those in between blended smoothly. Dividing invFreq by these equals HF's
 * `_compute_llama3_parameters` and the `rope_freqs` tensor llama.cpp's converter writes.
 */
export function llama3RopeFactors(invFreq: Float64Array, s: Llama3RopeScaling): Float64Array {
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  const factors = new Float64Array(invFreq.length);
  for (let i = 0; i < invFreq.length; i++) {
    const wavelen = (2 * Math.PI) / invFreq[i];
    if (wavelen < highFreqWavelen) factors[i] = 1;
    else if (wavelen > lowFreqWavelen) factors[i] = s.factor;
    else {
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      factors[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return factors;
}

/** Fills rows [fromPos, toPos) of cos/sin (nCtx, invFreq.length) with cos/sin(p·invFreq[i]). */
export function fillRopeTables(
  cos: Float32Array, sin: Float32Array, invFreq: Float64Array, fromPos: number, toPos: number,
): void {
  const half = invFreq.length;
  for (let p = fromPos; p < toPos; p++) {
    const o = p * half;
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i];
      cos[o + i] = Math.cos(angle);
      sin[o + i] = Math.sin(angle);
    }
  }
}

/** Rotate-half RoPE, in place on x (seqLen, nHeads·headDim). */
export function ropeNeox(x: Float32Array, cos: Float32Array, sin: Float32Array, d: RopeDims): void {
  const half = d.rotDim / 2;
  const rowLen = d.nHeads * d.headDim;
  for (let t = 0; t < d.seqLen; t++) {
    const table = (d.startPos + t) * half;
    for (let h = 0; h < d.nHeads; h++) {
      const o = t * rowLen + h * d.headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i], s = sin[table + i];
        const x0 = x[o + i], x1 = x[o + i + half];
        x[o + i] = x0 * c - x1 * s;
        x[o + i + half] = x0 * s + x1 * c;
      }
    }
  }
}

/** Adjacent-pair RoPE, in place on x (seqLen, nHeads·headDim). */
export function ropeNormal(x: Float32Array, cos: Float32Array, sin: Float32Array, d: RopeDims): void {
  const half = d.rotDim / 2;
  const rowLen = d.nHeads * d.headDim;
  for (let t = 0; t < d.seqLen; t++) {
    const table = (d.startPos + t) * half;
    for (let h = 0; h < d.nHeads; h++) {
      const o = t * rowLen + h * d.headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i], s = sin[table + i];
        const x0 = x[o + 2 * i], x1 = x[o + 2 * i + 1];
        x[o + 2 * i] = x0 * c - x1 * s;
        x[o + 2 * i + 1] = x0 * s + x1 * c;
      }
    }
  }
}
