/**
 * Slow, obvious twins of the fast kernels: straight from the formulas, no blocking, no tables,
 * no shared helpers. Tests compare each fast kernel with its twin on seeded random data; nothing
 * in the engine calls these.
 */
import type { AttentionDims } from "./attention.js";
import type { RopeDims, RopeStyle } from "./rope.js";

/** out (n, rows) = x (n, cols) · Wᵀ — three plain loops. */
export function matmulSlow(out: Float32Array, x: Float32Array, w: Float32Array, n: number, rows: number, cols: number): void {
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[t * cols + c] * w[r * cols + c];
      out[t * rows + r] = s;
    }
  }
}

export function layerNormSlow(
  out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | undefined,
  n: number, dim: number, eps: number,
): void {
  for (let t = 0; t < n; t++) {
    const row = Array.from(x.subarray(t * dim, (t + 1) * dim));
    const mean = row.reduce((a, b) => a + b, 0) / dim;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / dim;
    row.forEach((v, i) => {
      out[t * dim + i] = ((v - mean) / Math.sqrt(variance + eps)) * weight[i] + (bias ? bias[i] : 0);
    });
  }
}

export function rmsNormSlow(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
  for (let t = 0; t < n; t++) {
    const row = Array.from(x.subarray(t * dim, (t + 1) * dim));
    const rms = Math.sqrt(row.reduce((a, b) => a + b * b, 0) / dim + eps);
    row.forEach((v, i) => { out[t * dim + i] = (v / rms) * weight[i]; });
  }
}

export function geluSlow(v: number): number {
  const inner = Math.sqrt(2 / Math.PI) * (v + 0.044715 * Math.pow(v, 3));
  const tanh = (Math.exp(2 * inner) - 1) / (Math.exp(2 * inner) + 1);
  return 0.5 * v * (1 + (Number.isFinite(tanh) ? tanh : 1));
}

export function siluSlow(v: number): number {
  return v * (1 / (1 + Math.exp(-v)));
}

export function softmaxSlow(values: number[]): number[] {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/**
 * RoPE computed directly: the angle for pair i at position p is p · theta^(−2i/rotDim) / factor_i,
 * with the pair's two indices chosen by the style. Returns a new array.
 */
export function ropeSlow(
  x: Float32Array, d: RopeDims, style: RopeStyle, theta: number, freqFactors?: ArrayLike<number>,
): Float32Array {
  const out = Float32Array.from(x);
  const half = d.rotDim / 2;
  for (let t = 0; t < d.seqLen; t++) {
    for (let h = 0; h < d.nHeads; h++) {
      const base = (t * d.nHeads + h) * d.headDim;
      for (let i = 0; i < half; i++) {
        const [a, b] = style === "neox" ? [i, i + half] : [2 * i, 2 * i + 1];
        const freq = Math.pow(theta, -(2 * i) / d.rotDim) / (freqFactors ? freqFactors[i] : 1);
        const angle = (d.startPos + t) * freq;
        const xa = x[base + a], xb = x[base + b];
        out[base + a] = xa * Math.cos(angle) - xb * Math.sin(angle);
        out[base + b] = xa * Math.sin(angle) + xb * Math.cos(angle);
      }
    }
  }
  return out;
}

/**
 * Attention the textbook way: for each head build the full (seqLen, kvLen) score matrix, set
 * masked entries to −∞, softmax each row, multiply by V. Returns (seqLen, nHeads·headDim).
 */
export function attentionSlow(q: Float32Array, k: Float32Array, v: Float32Array, d: AttentionDims): Float32Array {
  const kvLen = d.startPos + d.seqLen;
  const out = new Float32Array(d.seqLen * d.nHeads * d.headDim);
  const headsPerKV = d.nHeads / d.nKVHeads;
  const qAt = (t: number, h: number, i: number) => q[(t * d.nHeads + h) * d.headDim + i];
  const kAt = (j: number, g: number, i: number) => k[(j * d.nKVHeads + g) * d.headDim + i];
  const vAt = (j: number, g: number, i: number) => v[(j * d.nKVHeads + g) * d.headDim + i];
  for (let h = 0; h < d.nHeads; h++) {
    const g = Math.floor(h / headsPerKV);
    for (let t = 0; t < d.seqLen; t++) {
      const pos = d.startPos + t;
      const scores: number[] = [];
      for (let j = 0; j < kvLen; j++) {
        const visible = j <= pos && (d.window === undefined || j > pos - d.window);
        let s = 0;
        for (let i = 0; i < d.headDim; i++) s += qAt(t, h, i) * kAt(j, g, i);
        scores.push(visible ? s * d.scale : -Infinity);
      }
      const probs = softmaxSlow(scores);
      for (let i = 0; i < d.headDim; i++) {
        let acc = 0;
        for (let j = 0; j < kvLen; j++) acc += probs[j] * vAt(j, g, i);
        out[(t * d.nHeads + h) * d.headDim + i] = acc;
      }
    }
  }
  return out;
}
