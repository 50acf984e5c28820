/**
 * The slow, obvious forward of every family in fixtures.ts, straight from the HF tensors and the
 * HF modeling code's order of operations: whole sequence from position 0, a full (seqLen × seqLen)
 * mask written out explicitly, naive attention in double precision, no cache. The models are
 * checked against it.
 */
import { ropeFrequencies, ropeScalingFromHF } from "../../src/nn/rope-scaling.js";
import type { Tensors } from "../models/fixtures.js";
import { hfConfig, layerTypesOf, type Spec } from "./fixtures.js";

function weight(t: Tensors, name: string): Float32Array {
  const x = t.get(name);
  if (!x) throw new Error(`reference: no tensor ${name}`);
  return x.data;
}

/** y (n, rows) = x (n, cols) · Wᵀ */
function linear(x: Float64Array, w: Float32Array, n: number, rows: number, cols: number): Float64Array {
  const y = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[t * cols + c] * w[r * cols + c];
      y[t * rows + r] = s;
    }
  }
  return y;
}

/** RMSNorm over rows of `dim`, multiplying by (offset + w): offset 1 is Gemma's (1 + w). */
function rmsNorm(x: Float64Array, w: Float32Array, dim: number, eps: number, offset: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += x[r * dim + i] ** 2;
    const inv = 1 / Math.sqrt(sq / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i] * inv * (offset + w[i]);
  }
  return y;
}

/** Rotate-half RoPE of x (n, heads·headDim) at positions 0..n−1, cos/sin scaled by `magnitude`. */
function rope(x: Float64Array, n: number, heads: number, headDim: number, invFreq: Float64Array, magnitude: number): Float64Array {
  const y = Float64Array.from(x);
  const half = headDim / 2;
  for (let p = 0; p < n; p++) {
    for (let h = 0; h < heads; h++) {
      const o = (p * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = Math.cos(p * invFreq[i]) * magnitude, s = Math.sin(p * invFreq[i]) * magnitude;
        y[o + i] = x[o + i] * c - x[o + i + half] * s;
        y[o + i + half] = x[o + i] * s + x[o + i + half] * c;
      }
    }
  }
  return y;
}

/** The additive causal mask (n, n): 0 where query t sees key j (j ≤ t and, with a window, t − j < window), −∞ elsewhere. */
export function explicitMask(n: number, window?: number): Float64Array {
  const mask = new Float64Array(n * n).fill(-Infinity);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j <= t; j++) if (window === undefined || t - j < window) mask[t * n + j] = 0;
  }
  return mask;
}

/** softmax(scale·q·kᵀ (soft-capped) + mask) · v per head, with GQA head sharing. */
export function maskedAttention(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, n: number,
  heads: number, kvHeads: number, headDim: number, scale: number, mask: Float64Array, softCap?: number,
): Float64Array {
  const out = new Float64Array(n * heads * headDim);
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < n; t++) {
      const scores = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += q[(t * heads + h) * headDim + i] * k[(j * kvHeads + g) * headDim + i];
        let s = dot * scale;
        if (softCap !== undefined) s = softCap * Math.tanh(s / softCap);
        scores[j] = s + mask[t * n + j];
      }
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const total = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < headDim; i++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += (e[j] / total) * v[(j * kvHeads + g) * headDim + i];
        out[(t * heads + h) * headDim + i] = sum;
      }
    }
  }
  return out;
}

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number) => x / (1 + Math.exp(-x));

/** Logits (n, vocab) for every position of `tokens`. */
export function referenceForward(s: Spec, t: Tensors, tokens: number[]): Float32Array {
  const n = tokens.length, d = s.hidden, hd = s.headDim;
  const qDim = s.heads * hd, kvDim = s.kvHeads * hd;
  const gemma = s.family === "gemma3";
  const offset = gemma ? 1 : 0;
  const config = hfConfig(s);
  const kinds = layerTypesOf(s);

  // RoPE per layer kind: Gemma's local layers use their own base and no scaling.
  const global = ropeFrequencies(hd, s.theta, ropeScalingFromHF(config, "config.json"), n);
  const local = gemma ? ropeFrequencies(hd, s.localTheta ?? 10000, { type: "none" }) : global;
  const scale = gemma ? 1 / Math.sqrt(s.queryPreAttnScalar ?? hd) : 1 / Math.sqrt(hd);

  const embed = weight(t, "model.embed_tokens.weight");
  const embedScale = gemma ? Math.fround(Math.sqrt(d)) : 1;
  let x = new Float64Array(n * d);
  tokens.forEach((id, p) => { for (let i = 0; i < d; i++) x[p * d + i] = embed[id * d + i] * embedScale; });

  for (let l = 0; l < s.layers; l++) {
    const w = (name: string) => weight(t, `model.layers.${l}.${name}.weight`);
    const sliding = kinds[l] === "sliding_attention";
    const freqs = sliding ? local : global;

    const h = rmsNorm(x, w("input_layernorm"), d, s.eps, offset);
    let q = linear(h, w("self_attn.q_proj"), n, qDim, d);
    let k = linear(h, w("self_attn.k_proj"), n, kvDim, d);
    const v = linear(h, w("self_attn.v_proj"), n, kvDim, d);
    if (gemma || s.family === "qwen3") {
      q = rmsNorm(q, w("self_attn.q_norm"), hd, s.eps, offset);
      k = rmsNorm(k, w("self_attn.k_norm"), hd, s.eps, offset);
    }
    q = rope(q, n, s.heads, hd, freqs.invFreq, freqs.attentionFactor);
    k = rope(k, n, s.kvHeads, hd, freqs.invFreq, freqs.attentionFactor);
    const mask = explicitMask(n, sliding ? s.window : undefined);
    const context = maskedAttention(q, k, v, n, s.heads, s.kvHeads, hd, scale, mask, gemma ? s.attnSoftCap : undefined);
    let attnOut = linear(context, w("self_attn.o_proj"), n, d, qDim);
    if (gemma) attnOut = rmsNorm(attnOut, w("post_attention_layernorm"), d, s.eps, offset);
    x = x.map((value, i) => value + attnOut[i]);

    const h2 = rmsNorm(x, w(gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm"), d, s.eps, offset);
    const gate = linear(h2, w("mlp.gate_proj"), n, s.ff, d);
    const up = linear(h2, w("mlp.up_proj"), n, s.ff, d);
    const act = gate.map((g, i) => (gemma ? gelu(g) : silu(g)) * up[i]);
    let mlpOut = linear(act, w("mlp.down_proj"), n, d, s.ff);
    if (gemma) mlpOut = rmsNorm(mlpOut, w("post_feedforward_layernorm"), d, s.eps, offset);
    x = x.map((value, i) => value + mlpOut[i]);
  }
  const h = rmsNorm(x, weight(t, "model.norm.weight"), d, s.eps, offset);
  const logits = linear(h, t.get("lm_head.weight")?.data ?? embed, n, s.vocab, d);
  if (gemma && s.finalSoftCap !== undefined) return Float32Array.from(logits, (z) => s.finalSoftCap! * Math.tanh(z / s.finalSoftCap!));
  return Float32Array.from(logits);
}
