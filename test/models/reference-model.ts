/**
 * Slow, obvious whole-model forwards straight from HF-layout tensors, built only from the slow
 * reference kernels and plain loops: the twin the real models are checked against. Always the
 * full sequence from position 0, all logits.
 */
import {
  attentionSlow, geluSlow, layerNormSlow, matmulSlow, rmsNormSlow, ropeSlow, siluSlow,
} from "../../src/kernels/reference.js";
import { llama3RopeFactors, ropeInvFreq } from "../../src/kernels/rope.js";
import type { Tensors, TinyGPT2, TinyLlama } from "./fixtures.js";

function weight(t: Tensors, name: string): Float32Array {
  const x = t.get(name);
  if (!x) throw new Error(`reference: no tensor ${name}`);
  return x.data;
}

/** y (n, out) = x (n, in) · W (in, out) + b — GPT-2's Conv1D, computed as written (no transpose). */
function conv1d(x: Float32Array, w: Float32Array, b: Float32Array, n: number, nIn: number, nOut: number): Float32Array {
  const y = new Float32Array(n * nOut);
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < nOut; o++) {
      let s = b[o];
      for (let i = 0; i < nIn; i++) s += x[t * nIn + i] * w[i * nOut + o];
      y[t * nOut + o] = s;
    }
  }
  return y;
}

/** y (n, rows) = x · Wᵀ (+ b) */
function linear(x: Float32Array, w: Float32Array, b: Float32Array | undefined, n: number, rows: number, cols: number): Float32Array {
  const y = new Float32Array(n * rows);
  matmulSlow(y, x, w, n, rows, cols);
  if (b) for (let i = 0; i < y.length; i++) y[i] += b[i % rows];
  return y;
}

function addInto(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

export function referenceGPT2(t: Tensors, s: TinyGPT2, tokens: number[]): Float32Array {
  const n = tokens.length, d = s.nEmbd, hd = d / s.nHeads;
  const p = "transformer.";
  const wte = weight(t, `${p}wte.weight`), wpe = weight(t, `${p}wpe.weight`);
  const x = new Float32Array(n * d);
  tokens.forEach((id, pos) => { for (let i = 0; i < d; i++) x[pos * d + i] = wte[id * d + i] + wpe[pos * d + i]; });
  for (let l = 0; l < s.nLayers; l++) {
    const b = (name: string) => weight(t, `${p}h.${l}.${name}`);
    const h = new Float32Array(n * d);
    layerNormSlow(h, x, b("ln_1.weight"), b("ln_1.bias"), n, d, s.eps);
    const qkv = conv1d(h, b("attn.c_attn.weight"), b("attn.c_attn.bias"), n, d, 3 * d);
    const q = new Float32Array(n * d), k = new Float32Array(n * d), v = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < d; i++) {
        q[r * d + i] = qkv[r * 3 * d + i];
        k[r * d + i] = qkv[r * 3 * d + d + i];
        v[r * d + i] = qkv[r * 3 * d + 2 * d + i];
      }
    }
    const att = attentionSlow(q, k, v, { seqLen: n, startPos: 0, nHeads: s.nHeads, nKVHeads: s.nHeads, headDim: hd, scale: 1 / Math.sqrt(hd) });
    addInto(x, conv1d(att, b("attn.c_proj.weight"), b("attn.c_proj.bias"), n, d, d));
    layerNormSlow(h, x, b("ln_2.weight"), b("ln_2.bias"), n, d, s.eps);
    const up = conv1d(h, b("mlp.c_fc.weight"), b("mlp.c_fc.bias"), n, d, s.nFF).map(geluSlow);
    addInto(x, conv1d(up, b("mlp.c_proj.weight"), b("mlp.c_proj.bias"), n, s.nFF, d));
  }
  const h = new Float32Array(n * d);
  layerNormSlow(h, x, weight(t, `${p}ln_f.weight`), weight(t, `${p}ln_f.bias`), n, d, s.eps);
  return linear(h, wte, undefined, n, s.vocab, d);
}

export function referenceLlama(t: Tensors, s: TinyLlama, tokens: number[]): Float32Array {
  const n = tokens.length, d = s.nEmbd, hd = d / s.nHeads;
  const qDim = s.nHeads * hd, kvDim = s.nKVHeads * hd;
  const embed = weight(t, "model.embed_tokens.weight");
  const x = new Float32Array(n * d);
  tokens.forEach((id, pos) => x.set(embed.subarray(id * d, (id + 1) * d), pos * d));
  const factors = s.llama3 ? llama3RopeFactors(ropeInvFreq(hd, s.theta), s.llama3) : undefined;
  for (let l = 0; l < s.nLayers; l++) {
    const w = (name: string) => weight(t, `model.layers.${l}.${name}`);
    const bias = (name: string) => t.get(`model.layers.${l}.${name}`)?.data;
    const h = new Float32Array(n * d);
    rmsNormSlow(h, x, w("input_layernorm.weight"), n, d, s.eps);
    const rope = { seqLen: n, startPos: 0, headDim: hd, rotDim: hd };
    const q = ropeSlow(linear(h, w("self_attn.q_proj.weight"), bias("self_attn.q_proj.bias"), n, qDim, d), { ...rope, nHeads: s.nHeads }, "neox", s.theta, factors);
    const k = ropeSlow(linear(h, w("self_attn.k_proj.weight"), bias("self_attn.k_proj.bias"), n, kvDim, d), { ...rope, nHeads: s.nKVHeads }, "neox", s.theta, factors);
    const v = linear(h, w("self_attn.v_proj.weight"), bias("self_attn.v_proj.bias"), n, kvDim, d);
    const att = attentionSlow(q, k, v, { seqLen: n, startPos: 0, nHeads: s.nHeads, nKVHeads: s.nKVHeads, headDim: hd, scale: 1 / Math.sqrt(hd) });
    addInto(x, linear(att, w("self_attn.o_proj.weight"), undefined, n, d, qDim));
    rmsNormSlow(h, x, w("post_attention_layernorm.weight"), n, d, s.eps);
    const gate = linear(h, w("mlp.gate_proj.weight"), undefined, n, s.nFF, d);
    const up = linear(h, w("mlp.up_proj.weight"), undefined, n, s.nFF, d);
    const act = gate.map((g, i) => siluSlow(g) * up[i]);
    addInto(x, linear(act, w("mlp.down_proj.weight"), undefined, n, d, s.nFF));
  }
  const h = new Float32Array(n * d);
  rmsNormSlow(h, x, weight(t, "model.norm.weight"), n, d, s.eps);
  const head = t.get("lm_head.weight")?.data ?? embed;
  return linear(h, head, undefined, n, s.vocab, d);
}
