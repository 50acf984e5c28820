/**
 * The slow, obvious twin of flashAttention, kept as its oracle: build the whole score matrix,
 * mask it, softmax each row, take the weighted sum of values. Everything runs in double precision
 * and it allocates freely; it is meant for tests, not for models.
 *
 * K/V are dense: position p in row p, (≥ startPos + nQ, nKVHeads·headDim).
 */
import { LoomError } from "../errors.js";

export interface NaiveAttentionDims {
  nQ: number;
  startPos: number;
  nHeads: number;
  nKVHeads: number;
  headDim: number;
  scale: number;
  window?: number;
  softCap?: number;
}

export function naiveAttention(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, d: NaiveAttentionDims,
): void {
  const { nQ, startPos, nHeads, nKVHeads, headDim } = d;
  if (nHeads % nKVHeads !== 0) throw new LoomError(`naiveAttention: ${nHeads} heads cannot share ${nKVHeads} K/V heads`);
  const kvLen = startPos + nQ;
  const qRow = nHeads * headDim;
  const kvRow = nKVHeads * headDim;
  const group = nHeads / nKVHeads;

  for (let h = 0; h < nHeads; h++) {
    const g = Math.floor(h / group);
    // scores (nQ, kvLen): every query against every key, masked entries −∞.
    const scores: number[][] = [];
    for (let t = 0; t < nQ; t++) {
      const queryPos = startPos + t;
      const row: number[] = [];
      for (let j = 0; j < kvLen; j++) {
        const inPast = j <= queryPos;
        const inWindow = d.window === undefined || queryPos - j < d.window;
        if (!inPast || !inWindow) {
          row.push(-Infinity);
          continue;
        }
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += q[t * qRow + h * headDim + i] * k[j * kvRow + g * headDim + i];
        let score = dot * d.scale;
        if (d.softCap !== undefined) score = d.softCap * Math.tanh(score / d.softCap);
        row.push(score);
      }
      scores.push(row);
    }
    for (let t = 0; t < nQ; t++) {
      const row = scores[t];
      const max = Math.max(...row);
      const weights = row.map((s) => Math.exp(s - max));
      const total = weights.reduce((a, b) => a + b, 0);
      for (let i = 0; i < headDim; i++) {
        let sum = 0;
        for (let j = 0; j < kvLen; j++) sum += (weights[j] / total) * v[j * kvRow + g * headDim + i];
        out[t * qRow + h * headDim + i] = sum;
      }
    }
  }
}
