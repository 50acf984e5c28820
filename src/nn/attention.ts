import { LoomError } from "../errors.js";
import { createFlashScratch, flashAttention, type FlashAttentionDims, type FlashScratch, type FlashTiles } from "../kernels/flash-attention.js";
import type { AttentionSpan } from "./attention-mask.js";
import { forwardTogether, type Linear } from "./linear.js";
import type { Norm } from "./norms.js";
import { JS_OPS, regrow, type Ops } from "./ops.js";
import type { RotaryEmbedding } from "./rope.js";

export interface AttentionShape {
  nHeads: number;
  /** nHeads for MHA, a divisor of it for GQA, 1 for MQA. */
  nKVHeads: number;
  headDim: number;
  /** Multiplies q·k before the softmax; 1/√headDim when omitted (Gemma 3: query_pre_attn_scalar^−½). */
  scale?: number;
  /** Attention logit soft-cap: s ← cap·tanh(s/cap) (Gemma 2/3 attn_logit_softcapping). */
  softCap?: number;
}

/** Named-activation tap, the same shape as the models' TraceFn. */
export type TraceFn = (name: string, layer: number, data: Float32Array) => void;

/** Q, K and V come from three projections (Llama) or one fused projection (GPT-2's c_attn). */
export type QKVProjection =
  | { kind: "separate"; q: Linear; k: Linear; v: Linear }
  | { kind: "fused"; qkv: Linear };

/** Per-head RMSNorms on queries and keys before RoPE (Qwen3, Gemma 3). Weights have headDim entries. */
export interface QKNorms {
  q: Norm;
  k: Norm;
}

/**
 * What a KV cache offers one attention layer (ModelKVCache): store this call's K/V rows, then read
 * the layer's keys/values with the span that says where positions live and which ones are visible.
 */
export interface LayerKVStore {
  write(layer: number, startPos: number, k: Float32Array, v: Float32Array, n: number): void;
  keys(layer: number): Float32Array;
  values(layer: number): Float32Array;
  span(layer: number, startPos: number, nQ: number): AttentionSpan;
}

/**
 * Scratch for attention calls of up to `rows` tokens, in the memory of the model's ops. Nothing
 * here depends on the sequence length: attention memory is the KV cache plus O(rows + tile) floats.
 */
export class AttentionScratch {
  rows = 0;
  q: Float32Array = new Float32Array(0); // (rows, nHeads·headDim)
  k: Float32Array = new Float32Array(0); // (rows, nKVHeads·headDim)
  v: Float32Array = new Float32Array(0); // (rows, nKVHeads·headDim)
  qkv: Float32Array = new Float32Array(0); // (rows, qDim + 2·kvDim), fused projections only
  context: Float32Array = new Float32Array(0); // (rows, nHeads·headDim): attention output before o_proj
  readonly flash: FlashScratch;

  constructor(readonly shape: AttentionShape, tiles?: FlashTiles, readonly ops: Ops = JS_OPS) {
    this.flash = createFlashScratch(shape.nHeads, shape.nKVHeads, shape.headDim, tiles);
  }

  /** Grows the buffers to hold `rows` tokens. */
  ensure(rows: number): void {
    if (rows <= this.rows) return;
    const { nHeads, nKVHeads, headDim } = this.shape;
    const qDim = nHeads * headDim, kvDim = nKVHeads * headDim;
    this.rows = rows;
    this.q = regrow(this.ops, this.q, rows * qDim);
    this.k = regrow(this.ops, this.k, rows * kvDim);
    this.v = regrow(this.ops, this.v, rows * kvDim);
    this.context = regrow(this.ops, this.context, rows * qDim);
    if (this.qkv.length > 0) this.qkv = regrow(this.ops, this.qkv, rows * (qDim + 2 * kvDim));
  }

  /** The fused projection's output buffer, (rows, width). */
  fused(width: number): Float32Array {
    if (this.qkv.length < this.rows * width) this.qkv = regrow(this.ops, this.qkv, this.rows * width);
    return this.qkv;
  }

  /** out = attention of q over the cache's keys and values: the TypeScript flash kernel with this scratch's tiles, or the ops' own. */
  attend(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, dims: FlashAttentionDims): void {
    if (this.ops.kind === "js") flashAttention(out, q, kCache, vCache, dims, this.flash);
    else this.ops.attention(out, q, kCache, vCache, dims);
  }
}

/**
 * Causal self-attention: project Q/K/V, normalize Q/K per head (if the model does), rotate them
 * (if it uses RoPE), store K/V in the cache, attend with the flash kernel over what the cache's
 * span allows (causal, and the layer's sliding window), project out.
 */
export class SelfAttention {
  readonly qDim: number;
  readonly kvDim: number;
  readonly scale: number;

  constructor(
    readonly shape: AttentionShape,
    readonly projection: QKVProjection,
    readonly output: Linear,
    readonly rope?: RotaryEmbedding,
    readonly qkNorms?: QKNorms,
  ) {
    const { nHeads, nKVHeads, headDim } = shape;
    if (nHeads % nKVHeads !== 0) throw new LoomError(`attention: ${nHeads} heads cannot share ${nKVHeads} key/value heads`);
    this.qDim = nHeads * headDim;
    this.kvDim = nKVHeads * headDim;
    this.scale = shape.scale ?? 1 / Math.sqrt(headDim);
  }

  /**
   * out (n, nEmbd) = attention(x (n, nEmbd)) for tokens at startPos..startPos+n−1. The cache must
   * have room (reserve) for startPos + n positions; this writes their K/V rows of `layer`.
   */
  forward(
    out: Float32Array, x: Float32Array, n: number, startPos: number,
    cache: LayerKVStore, layer: number, s: AttentionScratch, trace?: TraceFn,
  ): void {
    const { nHeads, nKVHeads, headDim } = this.shape;
    s.ensure(n);
    this.project(s, x, n);
    const q = s.q.subarray(0, n * this.qDim); // (n, nHeads·headDim)
    const k = s.k.subarray(0, n * this.kvDim); // (n, nKVHeads·headDim)
    const v = s.v.subarray(0, n * this.kvDim); // (n, nKVHeads·headDim)

    if (this.qkNorms) {
      // Each head's vector is one row of headDim: (n·nHeads, headDim) and (n·nKVHeads, headDim).
      this.qkNorms.q.forward(q, q, n * nHeads);
      this.qkNorms.k.forward(k, k, n * nKVHeads);
    }
    if (this.rope) {
      this.rope.apply(q, n, nHeads, startPos);
      this.rope.apply(k, n, nKVHeads, startPos);
    }
    if (trace) {
      trace("q", layer, q);
      trace("k", layer, k);
      trace("v", layer, v);
    }

    cache.write(layer, startPos, k, v, n);
    const span = cache.span(layer, startPos, n);
    s.attend(s.context, q, cache.keys(layer), cache.values(layer), {
      nQ: n, startPos, nHeads, nKVHeads, headDim,
      scale: this.scale, softCap: this.shape.softCap, window: span.window, ringSlots: span.ringSlots,
    });
    if (trace) trace("attn_context", layer, s.context.subarray(0, n * this.qDim));
    this.output.forward(out, s.context, n);
  }

  private project(s: AttentionScratch, x: Float32Array, n: number): void {
    const p = this.projection;
    if (p.kind === "separate") {
      forwardTogether([p.q, p.k, p.v], [s.q, s.k, s.v], x, n);
      return;
    }
    // Fused rows are [q | k | v]; split them.
    const { qDim, kvDim } = this;
    const width = qDim + 2 * kvDim;
    const qkv = s.fused(width);
    p.qkv.forward(qkv, x, n);
    for (let t = 0; t < n; t++) {
      const row = qkv.subarray(t * width, (t + 1) * width);
      s.q.set(row.subarray(0, qDim), t * qDim);
      s.k.set(row.subarray(qDim, qDim + kvDim), t * kvDim);
      s.v.set(row.subarray(qDim + kvDim), t * kvDim);
    }
  }
}
