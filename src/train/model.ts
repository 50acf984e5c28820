import { LoomError } from "../errors.js";
import { allocateArena, type FloatKind } from "./arena.js";
import { SerialCompute, WasmCompute, type Compute } from "./compute.js";
import { headDim, LLAMA_VARIANT, mlpInWidth, paramCount, paramTable, validateConfig, validateVariant, type ParamEntry, type TrainModelConfig, type Variant } from "./config.js";
import type { Floats } from "./floats.js";
import type { Rng } from "./rng.js";
import type { AttentionDims } from "./ops/attention.js";
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "./ops/crossentropy.js";
import { embeddingBackward, embeddingForward } from "./ops/embedding.js";
import { geluBackward, geluForward } from "./ops/gelu.js";
import { linearBackward, linearForward, type LinearScratch } from "./ops/linear.js";
import { positionBackward, positionForward } from "./ops/positions.js";
import { residualForward } from "./ops/residual.js";
import { rmsnormBackward, rmsnormForward } from "./ops/rmsnorm.js";
import { ropeApply, ropeTable } from "./ops/rope.js";
import { swigluBackward, swigluForward } from "./ops/swiglu.js";

/*
 * Dimension names used in the shape comments:
 *   B batch, T sequence length, N = B·T token positions, C model width (dim), V vocabulary,
 *   H MLP width, M = rows of the MLP's input matrix (2H for SwiGLU, H for GELU),
 *   Q = nHeads·headDim, S = Q + 2·nKVHeads·headDim (one fused qkv row), L layers.
 *
 * The trainer's block is pre-norm; experiments may ask for post-norm (see Variant in ./config.ts):
 *   pre-norm layer:  r = x + Attn(norm₁(x));      y = r + Mlp(norm₂(r))
 *   post-norm layer: r = norm₁(x + Attn(x));      y = norm₂(r + Mlp(r))
 * Both keep the final norm before the LM head, so the two have the same parameters.
 */

/** The weights of one layer, as views into the flat parameter (or gradient) vector. */
interface LayerWeights {
  ln1: Floats; // (C)
  wqkv: Floats; // (S, C) = q_proj, k_proj, v_proj rows back to back
  wo: Floats; // (C, Q)
  ln2: Floats; // (C)
  win: Floats; // (M, C) = gate_proj, up_proj rows back to back (SwiGLU), or up_proj alone (GELU)
  wdown: Floats; // (C, H)
}

interface Weights {
  wte: Floats; // (V, C), also the LM head (tied)
  wpe: Floats | null; // (maxSeqLen, C) with learned positions
  layers: LayerWeights[];
  norm: Floats; // (C)
}

/**
 * What the forward pass keeps for the backward pass, one set per layer. Buffers that the
 * variant does not use have length 0.
 */
interface LayerActivations {
  x: Floats; // (N, C) residual stream entering the layer
  attIn: Floats; // (N, C) pre-norm only: norm₁(x); post-norm attends to x itself
  rstd1: Floats; // (N)
  qkv: Floats; // (N, S) after RoPE
  probs: Floats; // (B, nHeads, T, T)
  att: Floats; // (N, Q)
  sum1: Floats; // (N, C) post-norm only: x + Attn(x), the input of norm₁
  r: Floats; // (N, C) residual stream between the two sublayers
  mlpIn: Floats; // (N, C) pre-norm only: norm₂(r)
  rstd2: Floats; // (N)
  u: Floats; // (N, M)
  h: Floats; // (N, H)
  sum2: Floats; // (N, C) post-norm only: r + Mlp(r), the input of norm₂
}

export interface TrainModelOptions {
  /** Largest batch and sequence length that forward will be called with. */
  batch: number;
  seqLen: number;
  /** "f64" only for gradient checks. */
  kind?: FloatKind;
  /**
   * Threads for matmuls and attention (default 1). Ignored for "f64".
   * With `wasm` (the default for f32), matmuls run in the WebAssembly SIMD kernels.
   */
  threads?: number;
  wasm?: boolean;
  /** The block's wiring (default LLAMA_VARIANT, the only one the trainer and export know). */
  variant?: Variant;
}

/**
 * A Llama-family decoder (pre-norm RMSNorm, RoPE, causal GQA attention, SwiGLU, tied LM head)
 * with its own forward and backward pass for training, in the manner of llm.c: every op keeps
 * what its gradient needs, and backward walks the same ops in reverse. The experiments' other
 * blocks (post-norm, GELU MLP, learned positions) run through the same code.
 */
export class TrainModel {
  readonly config: TrainModelConfig;
  readonly variant: Variant;
  readonly table: ParamEntry[];
  readonly numParams: number;
  readonly maxB: number;
  readonly maxT: number;
  /** The flat parameter vector and its gradient, in `table` order. */
  readonly params: Floats;
  readonly grads: Floats;
  private readonly w: Weights;
  private readonly g: Weights;
  private readonly acts: LayerActivations[];
  private readonly xFinal: Floats; // (N, C)
  private readonly lnf: Floats; // (N, C)
  private readonly rstdf: Floats; // (N)
  /** (N, V): logits after forward without targets, probabilities with targets, dlogits after backward. */
  readonly logits: Floats;
  private readonly losses: Floats; // (N)
  private readonly tmp: Floats; // (N, C) a sublayer's output before the residual add
  private readonly dres: Floats; // (N, C) gradient of the residual stream
  private readonly dsum: Floats; // (N, C) post-norm only: gradient of a residual sum
  private readonly dln: Floats; // (N, C)
  private readonly dqkv: Floats; // (N, S)
  private readonly datt: Floats; // (N, Q)
  private readonly du: Floats; // (N, M)
  private readonly dh: Floats; // (N, H)
  private readonly scratch: LinearScratch;
  private readonly cos: Floats; // (T, headDim/2), RoPE only
  private readonly sin: Floats;
  private readonly tokens: Int32Array;
  private readonly targets: Int32Array;
  private readonly compute: Compute;
  private lastB = 0;
  private lastT = 0;
  private haveTargets = false;

  constructor(config: TrainModelConfig, options: TrainModelOptions) {
    const variant = options.variant ?? LLAMA_VARIANT;
    validateConfig(config);
    validateVariant(variant);
    this.config = config;
    this.variant = variant;
    this.table = paramTable(config, variant);
    this.numParams = paramCount(config, variant);
    this.maxB = options.batch;
    this.maxT = options.seqLen;
    if (options.seqLen > config.maxSeqLen) {
      throw new LoomError(`sequence length ${options.seqLen} exceeds the model's maxSeqLen ${config.maxSeqLen}`);
    }
    const kind = options.kind ?? "f32";
    const useWasm = kind === "f32" && options.wasm !== false;
    const threads = useWasm ? Math.max(1, options.threads ?? 1) : 1;
    const { vocabSize: V, dim: C, nLayers: L, nHeads, nKVHeads, hiddenDim: H } = config;
    const hd = headDim(config);
    const Q = nHeads * hd;
    const S = Q + 2 * nKVHeads * hd;
    const M = mlpInWidth(config, variant);
    const B = options.batch;
    const T = options.seqLen;
    const N = B * T;
    const P = this.numParams;
    const pre = variant.norm === "pre";
    const rope = variant.positions === "rope";
    const preOnly = pre ? N * C : 0;
    const postOnly = pre ? 0 : N * C;
    const maxOut = Math.max(S, C, M, V);
    const maxIn = Math.max(C, Q, H);
    const { memory, views } = allocateArena(kind, useWasm ? "wasm" : "plain", (alloc) => ({
      params: alloc(P),
      grads: alloc(P),
      acts: Array.from({ length: L }, () => ({
        x: alloc(N * C), attIn: alloc(preOnly), rstd1: alloc(N), qkv: alloc(N * S), probs: alloc(B * nHeads * T * T), att: alloc(N * Q),
        sum1: alloc(postOnly), r: alloc(N * C), mlpIn: alloc(preOnly), rstd2: alloc(N), u: alloc(N * M), h: alloc(N * H), sum2: alloc(postOnly),
      })),
      xFinal: alloc(N * C), lnf: alloc(N * C), rstdf: alloc(N), logits: alloc(N * V), losses: alloc(N), tmp: alloc(N * C),
      dres: alloc(N * C), dsum: alloc(postOnly), dln: alloc(N * C), dqkv: alloc(N * S), datt: alloc(N * Q), du: alloc(N * M), dh: alloc(N * H),
      scratch: { wT: alloc(maxOut * maxIn), dyT: alloc(N * maxOut), xT: alloc(N * maxIn) },
      cos: alloc(rope ? T * (hd / 2) : 0), sin: alloc(rope ? T * (hd / 2) : 0),
      accumulator: alloc(useWasm ? maxOut * maxIn : 0),
      threadScratch: alloc(useWasm ? WasmCompute.scratchSize(threads, T, hd) : 0),
    }));
    this.params = views.params;
    this.grads = views.grads;
    this.acts = views.acts;
    this.xFinal = views.xFinal;
    this.lnf = views.lnf;
    this.rstdf = views.rstdf;
    this.logits = views.logits;
    this.losses = views.losses;
    this.tmp = views.tmp;
    this.dres = views.dres;
    this.dsum = views.dsum;
    this.dln = views.dln;
    this.dqkv = views.dqkv;
    this.datt = views.datt;
    this.du = views.du;
    this.dh = views.dh;
    this.scratch = views.scratch;
    this.cos = views.cos;
    this.sin = views.sin;
    if (rope) ropeTable(this.cos, this.sin, T, hd, config.ropeTheta);
    this.w = this.weightViews(this.params);
    this.g = this.weightViews(this.grads);
    this.tokens = new Int32Array(N);
    this.targets = new Int32Array(N);
    this.compute = memory ? new WasmCompute(memory, threads, views.accumulator as Float32Array, views.threadScratch as Float32Array) : new SerialCompute();
  }

  private weightViews(flat: Floats): Weights {
    const byName = new Map(this.table.map((e) => [e.name, e]));
    const span = (first: string, last: string): Floats => {
      const a = byName.get(first)!;
      const b = byName.get(last)!;
      return flat.subarray(a.offset, b.offset + b.size);
    };
    const one = (name: string): Floats => span(name, name);
    const swiglu = this.variant.mlp === "swiglu";
    const layers: LayerWeights[] = [];
    for (let l = 0; l < this.config.nLayers; l++) {
      const p = `model.layers.${l}.`;
      layers.push({
        ln1: one(`${p}input_layernorm.weight`),
        wqkv: span(`${p}self_attn.q_proj.weight`, `${p}self_attn.v_proj.weight`),
        wo: one(`${p}self_attn.o_proj.weight`),
        ln2: one(`${p}post_attention_layernorm.weight`),
        win: span(`${p}mlp.${swiglu ? "gate_proj" : "up_proj"}.weight`, `${p}mlp.up_proj.weight`),
        wdown: one(`${p}mlp.down_proj.weight`),
      });
    }
    const wpe = this.variant.positions === "learned" ? one("model.embed_positions.weight") : null;
    return { wte: one("model.embed_tokens.weight"), wpe, layers, norm: one("model.norm.weight") };
  }

  /** A view of one named parameter (HF name). */
  param(name: string): Floats {
    const e = this.table.find((x) => x.name === name);
    if (!e) throw new LoomError(`no parameter named '${name}'`);
    return this.params.subarray(e.offset, e.offset + e.size);
  }

  /** GPT-2-style init: N(0, 0.02) (the position table too), output projections scaled by 1/√(2L), norms at 1. */
  initialize(rng: Rng): void {
    const std = 0.02;
    for (const e of this.table) {
      const view = this.params.subarray(e.offset, e.offset + e.size);
      if (e.shape.length === 1) {
        view.fill(1);
        continue;
      }
      const isOutput = e.name.endsWith("o_proj.weight") || e.name.endsWith("down_proj.weight");
      const s = isOutput ? std / Math.sqrt(2 * this.config.nLayers) : std;
      for (let i = 0; i < view.length; i++) view[i] = rng.normal() * s;
    }
  }

  private dims(B: number, T: number): AttentionDims {
    return { B, T, nHeads: this.config.nHeads, nKVHeads: this.config.nKVHeads, headDim: headDim(this.config) };
  }

  /** RoPE on the q and k parts of qkv-shaped rows; direction −1 rotates a gradient back. */
  private rotate(qkv: Floats, N: number, T: number, direction: 1 | -1): void {
    const { nHeads, nKVHeads } = this.config;
    const hd = headDim(this.config);
    const S = (nHeads + 2 * nKVHeads) * hd;
    ropeApply(qkv, this.cos, this.sin, N, T, S, 0, nHeads, hd, direction);
    ropeApply(qkv, this.cos, this.sin, N, T, S, nHeads * hd, nKVHeads, hd, direction);
  }

  /**
   * Closes a sublayer whose output is in `tmp`: out = skip + tmp (pre-norm), or
   * out = norm(skip + tmp) keeping the sum and 1/rms for backward (post-norm).
   */
  private addResidual(out: Floats, sum: Floats, rstd: Floats, skip: Floats, gain: Floats, N: number): void {
    const C = this.config.dim;
    if (this.variant.norm === "pre") {
      residualForward(out, skip, this.tmp, N * C);
    } else {
      residualForward(sum, skip, this.tmp, N * C);
      rmsnormForward(out, rstd, sum, gain, N, C, this.config.normEps);
    }
  }

  /**
   * Runs B sequences of T tokens (row-major in `tokens`). With `targets`, returns the mean
   * cross-entropy and keeps probabilities for backward; without, leaves logits in `this.logits`
   * and returns NaN.
   */
  forward(tokens: ArrayLike<number>, targets: ArrayLike<number> | null, B: number, T: number): number {
    const { vocabSize: V, dim: C, nLayers: L, nHeads, nKVHeads, hiddenDim: H, normEps } = this.config;
    if (B < 1 || T < 1 || B > this.maxB || T > this.maxT) {
      throw new LoomError(`forward: batch ${B} × length ${T} exceeds the allocated ${this.maxB} × ${this.maxT}`);
    }
    const N = B * T;
    if (tokens.length < N || (targets && targets.length < N)) {
      throw new LoomError(`forward: expected ${N} tokens${targets ? " and targets" : ""}, got ${tokens.length}${targets ? ` and ${targets.length}` : ""}`);
    }
    for (let n = 0; n < N; n++) {
      const id = tokens[n];
      if (!(id >= 0 && id < V && Number.isInteger(id))) throw new LoomError(`forward: token id ${id} at position ${n} is outside the vocabulary [0, ${V})`);
      this.tokens[n] = id;
      if (targets) {
        const t = targets[n];
        if (!(t >= 0 && t < V && Number.isInteger(t))) throw new LoomError(`forward: target id ${t} at position ${n} is outside the vocabulary [0, ${V})`);
        this.targets[n] = t;
      }
    }
    this.lastB = B;
    this.lastT = T;
    this.haveTargets = targets !== null;
    const hd = headDim(this.config);
    const Q = nHeads * hd;
    const S = Q + 2 * nKVHeads * hd;
    const M = mlpInWidth(this.config, this.variant);
    const mm = this.compute;
    const d = this.dims(B, T);
    const pre = this.variant.norm === "pre";
    const rope = this.variant.positions === "rope";
    const swiglu = this.variant.mlp === "swiglu";

    const x0 = L ? this.acts[0].x : this.xFinal;
    embeddingForward(x0, this.tokens, this.w.wte, N, C);
    if (this.w.wpe) positionForward(x0, this.w.wpe, N, T, C);
    for (let l = 0; l < L; l++) {
      const a = this.acts[l];
      const w = this.w.layers[l];
      const next = l + 1 < L ? this.acts[l + 1].x : this.xFinal;
      // attention sublayer
      if (pre) rmsnormForward(a.attIn, a.rstd1, a.x, w.ln1, N, C, normEps);
      linearForward(mm, a.qkv, pre ? a.attIn : a.x, w.wqkv, N, C, S);
      if (rope) this.rotate(a.qkv, N, T, 1);
      mm.attentionForward(a.att, a.probs, a.qkv, d);
      linearForward(mm, this.tmp, a.att, w.wo, N, Q, C);
      this.addResidual(a.r, a.sum1, a.rstd1, a.x, w.ln1, N);
      // MLP sublayer
      if (pre) rmsnormForward(a.mlpIn, a.rstd2, a.r, w.ln2, N, C, normEps);
      linearForward(mm, a.u, pre ? a.mlpIn : a.r, w.win, N, C, M);
      if (swiglu) swigluForward(a.h, a.u, N, H);
      else geluForward(a.h, a.u, N * H);
      linearForward(mm, this.tmp, a.h, w.wdown, N, H, C);
      this.addResidual(next, a.sum2, a.rstd2, a.r, w.ln2, N);
    }
    rmsnormForward(this.lnf, this.rstdf, this.xFinal, this.w.norm, N, C, normEps);
    linearForward(mm, this.logits, this.lnf, this.w.wte, N, C, V);
    if (!targets) return NaN;
    return softmaxCrossEntropyForward(this.losses, this.logits, this.targets, N, V);
  }

  /**
   * Adds the gradient of (mean loss · lossScale) to `grads`. lossScale = 1 / microSteps makes
   * gradient accumulation average the micro-batches.
   */
  backward(lossScale = 1): void {
    if (!this.haveTargets) throw new LoomError("backward: the last forward had no targets");
    this.haveTargets = false; // the buffers below are overwritten
    const { vocabSize: V, dim: C, nLayers: L, nHeads, nKVHeads, hiddenDim: H } = this.config;
    const B = this.lastB;
    const T = this.lastT;
    const N = B * T;
    const hd = headDim(this.config);
    const Q = nHeads * hd;
    const S = Q + 2 * nKVHeads * hd;
    const M = mlpInWidth(this.config, this.variant);
    const mm = this.compute;
    const s = this.scratch;
    const d = this.dims(B, T);
    const pre = this.variant.norm === "pre";
    const rope = this.variant.positions === "rope";
    const swiglu = this.variant.mlp === "swiglu";
    const { dres, dsum, dln } = this;

    softmaxCrossEntropyBackward(this.logits, this.targets, N, V, lossScale / N);
    linearBackward(mm, s, dln, this.g.wte, this.logits, this.lnf, this.w.wte, N, C, V);
    dres.fill(0);
    rmsnormBackward(dres, this.g.norm, dln, this.xFinal, this.w.norm, this.rstdf, N, C);
    for (let l = L - 1; l >= 0; l--) {
      const a = this.acts[l];
      const w = this.w.layers[l];
      const g = this.g.layers[l];
      // MLP sublayer. dres is the gradient of its output. Pre-norm: that is also the gradient of
      // the residual sum, and it flows straight through the skip. Post-norm: back through norm₂ first.
      if (!pre) this.backThroughNorm(g.ln2, a.sum2, w.ln2, a.rstd2, N);
      const dy = pre ? dres : dsum;
      linearBackward(mm, s, this.dh, g.wdown, dy, a.h, w.wdown, N, H, C);
      if (swiglu) swigluBackward(this.du, this.dh, a.u, N, H);
      else geluBackward(this.du, this.dh, a.u, N * H);
      linearBackward(mm, s, dln, g.win, this.du, pre ? a.mlpIn : a.r, w.win, N, C, M);
      if (pre) rmsnormBackward(dres, g.ln2, dln, a.r, w.ln2, a.rstd2, N, C);
      else this.joinSkip(N);
      // attention sublayer, the same way
      if (!pre) this.backThroughNorm(g.ln1, a.sum1, w.ln1, a.rstd1, N);
      linearBackward(mm, s, this.datt, g.wo, pre ? dres : dsum, a.att, w.wo, N, Q, C);
      mm.attentionBackward(this.dqkv, this.datt, a.probs, a.qkv, d);
      if (rope) this.rotate(this.dqkv, N, T, -1);
      linearBackward(mm, s, dln, g.wqkv, this.dqkv, pre ? a.attIn : a.x, w.wqkv, N, C, S);
      if (pre) rmsnormBackward(dres, g.ln1, dln, a.x, w.ln1, a.rstd1, N, C);
      else this.joinSkip(N);
    }
    embeddingBackward(this.g.wte, dres, this.tokens, N, C);
    if (this.g.wpe) positionBackward(this.g.wpe, dres, N, T, C);
  }

  /** Post-norm: dsum = the gradient of a residual sum, from dres through the norm that follows it. */
  private backThroughNorm(dGain: Floats, sum: Floats, gain: Floats, rstd: Floats, N: number): void {
    this.dsum.fill(0);
    rmsnormBackward(this.dsum, dGain, this.dres, sum, gain, rstd, N, this.config.dim);
  }

  /** Post-norm: the sublayer's input gets the sum's gradient twice, through the skip and through the sublayer (dln). */
  private joinSkip(N: number): void {
    const { dres, dsum, dln } = this;
    for (let i = 0; i < N * this.config.dim; i++) dres[i] = dsum[i] + dln[i];
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  /** Per-position losses of the last forward with targets (N). */
  positionLosses(): Floats {
    return this.losses.subarray(0, this.lastB * this.lastT);
  }

  dispose(): void {
    this.compute.dispose();
  }
}
