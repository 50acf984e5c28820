import { causalAttention } from "../kernels/attention.js";
import type { DenseKVCache } from "./kv-cache.js";
import type { Linear } from "./linear.js";
import type { RotaryEmbedding } from "./rope.js";

export interface AttentionShape {
  nHeads: number;
  /** nHeads for MHA, a divisor of it for GQA, 1 for MQA. */
  nKVHeads: number;
  headDim: number;
  /** Sliding-window size, if the model limits how far back a query looks. */
  window?: number;
}

/** Named-activation tap, the same shape as the models' TraceFn. */
export type TraceFn = (name: string, layer: number, data: Float32Array) => void;

/** Q, K and V come from three projections (Llama) or one fused projection (GPT-2's c_attn). */
export type QKVProjection =
  | { kind: "separate"; q: Linear; k: Linear; v: Linear }
  | { kind: "fused"; qkv: Linear };

/** Scratch for one attention call; every buffer holds at least the rows noted. */
export interface AttentionScratch {
  q: Float32Array; // (seqLen, nHeads·headDim)
  qkv: Float32Array; // (seqLen, qDim + 2·kvDim), fused projections only
  context: Float32Array; // (seqLen, nHeads·headDim): attention output before o_proj
  scores: Float32Array; // (kvLen)
}

/**
 * Causal self-attention over a dense KV cache: project Q/K/V, rotate Q/K (if the model uses RoPE),
 * append K/V to the cache, attend over every cached position, project out.
 */
export class SelfAttention {
  readonly qDim: number;
  readonly kvDim: number;

  constructor(
    readonly shape: AttentionShape,
    readonly projection: QKVProjection,
    readonly output: Linear,
    readonly rope?: RotaryEmbedding,
  ) {
    this.qDim = shape.nHeads * shape.headDim;
    this.kvDim = shape.nKVHeads * shape.headDim;
  }

  /**
   * out (n, nEmbd) = attention(x (n, nEmbd)) for tokens at startPos..startPos+n−1. The cache must
   * have room (reserve) for startPos + n positions; this writes their K/V rows of `layer`.
   */
  forward(
    out: Float32Array, x: Float32Array, n: number, startPos: number,
    cache: DenseKVCache, layer: number, s: AttentionScratch, trace?: TraceFn,
  ): void {
    const { nHeads, nKVHeads, headDim } = this.shape;
    const kvDim = this.kvDim;
    // This call's keys and values are rows startPos.. of the cache: (n, kvDim) each.
    const kRows = cache.keys(layer).subarray(startPos * kvDim, (startPos + n) * kvDim);
    const vRows = cache.values(layer).subarray(startPos * kvDim, (startPos + n) * kvDim);
    this.project(s, kRows, vRows, x, n);

    if (this.rope) {
      this.rope.apply(s.q, n, nHeads, startPos);
      this.rope.apply(kRows, n, nKVHeads, startPos);
    }
    if (trace) {
      trace("q", layer, s.q.subarray(0, n * this.qDim));
      trace("k", layer, kRows);
      trace("v", layer, vRows);
    }

    causalAttention(s.context, s.q, cache.keys(layer), cache.values(layer), s.scores, {
      seqLen: n, startPos, nHeads, nKVHeads, headDim,
      scale: 1 / Math.sqrt(headDim),
      window: this.shape.window,
    });
    if (trace) trace("attn_context", layer, s.context.subarray(0, n * this.qDim));
    this.output.forward(out, s.context, n);
  }

  private project(s: AttentionScratch, kRows: Float32Array, vRows: Float32Array, x: Float32Array, n: number): void {
    const p = this.projection;
    if (p.kind === "separate") {
      p.q.forward(s.q, x, n);
      p.k.forward(kRows, x, n);
      p.v.forward(vRows, x, n);
      return;
    }
    // Fused rows are [q | k | v]; split them.
    const { qDim, kvDim } = this;
    const width = qDim + 2 * kvDim;
    p.qkv.forward(s.qkv, x, n);
    const qkv = s.qkv;
    for (let t = 0; t < n; t++) {
      const o = t * width;
      for (let i = 0; i < qDim; i++) s.q[t * qDim + i] = qkv[o + i];
      for (let i = 0; i < kvDim; i++) {
        kRows[t * kvDim + i] = qkv[o + qDim + i];
        vRows[t * kvDim + i] = qkv[o + qDim + kvDim + i];
      }
    }
  }
}
