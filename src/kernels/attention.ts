import { dot } from "./matmul.js";
import { softmax } from "./softmax.js";

export interface AttentionDims {
  seqLen: number;
  /** Position of query row 0; query t sits at startPos + t and sees keys 0 ..= startPos + t. */
  startPos: number;
  nHeads: number;
  /** nHeads must be a multiple of nKVHeads; query head h reads kv head ⌊h / (nHeads/nKVHeads)⌋. */
  nKVHeads: number;
  headDim: number;
  /** Multiplies q·k before the softmax; 1/√headDim for every model here. */
  scale: number;
  /** Sliding window: query at p sees only keys p−window+1 ..= p. Omit for full causal attention. */
  window?: number;
}

/**
 * Causal multi-head attention with grouped K/V heads (MHA, GQA and MQA are the same loop):
 *
 *   out[t, h] = Σ_j softmax_j(scale · q[t, h] · k[j, g]) · v[j, g],   g = kv head of h
 *
 * q, out: (seqLen, nHeads·headDim). k, v: (≥ kvLen, nKVHeads·headDim), position-major, as the
 * dense KV cache stores them. scores: scratch of at least kvLen floats. Softmax runs in f32 storage
 * with double-precision sums, as llama.cpp and PyTorch's f32 path.
 */
export function causalAttention(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, scores: Float32Array,
  d: AttentionDims,
): void {
  const { headDim, nHeads, nKVHeads } = d;
  const qRow = nHeads * headDim;
  const kvRow = nKVHeads * headDim;
  const group = nHeads / nKVHeads;
  for (let t = 0; t < d.seqLen; t++) {
    const pos = d.startPos + t;
    const first = d.window === undefined ? 0 : Math.max(0, pos - d.window + 1);
    const span = pos + 1 - first;
    for (let h = 0; h < nHeads; h++) {
      const qo = t * qRow + h * headDim;
      const kvo = Math.floor(h / group) * headDim;
      for (let j = 0; j < span; j++) {
        scores[j] = dot(q, qo, k, (first + j) * kvRow + kvo, headDim) * d.scale;
      }
      softmax(scores, 0, span);
      const oo = t * qRow + h * headDim;
      out.fill(0, oo, oo + headDim);
      for (let j = 0; j < span; j++) {
        const p = scores[j];
        const vo = (first + j) * kvRow + kvo;
        for (let i = 0; i < headDim; i++) out[oo + i] += p * v[vo + i];
      }
    }
  }
}
