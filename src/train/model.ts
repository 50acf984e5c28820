import { LoomError } from "../errors.js";
import { allocateArena, type FloatKind } from "./arena.js";
import { SerialCompute, WasmCompute, type Compute } from "./compute.js";
import { headDim, paramCount, paramTable, validateConfig, type ParamEntry, type TrainModelConfig } from "./config.js";
import type { Floats } from "./floats.js";
import type { Rng } from "./rng.js";
import type { AttentionDims } from "./ops/attention.js";
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "./ops/crossentropy.js";
import { embeddingBackward, embeddingForward } from "./ops/embedding.js";
import { linearBackward, linearForward, type LinearScratch } from "./ops/linear.js";
import { residualForward } from "./ops/residual.js";
import { rmsnormBackward, rmsnormForward } from "./ops/rmsnorm.js";
import { ropeApply, ropeTable } from "./ops/rope.js";
import { swigluBackward, swigluForward } from "./ops/swiglu.js";

/*
 * Dimension names used in the shape comments:
 *   B batch, T sequence length, N = B·T token positions, C model width (dim), V vocabulary,
 *   H SwiGLU width, Q = nHeads·headDim, S = Q + 2·nKVHeads·headDim (one fused qkv row), L layers.
 */

/** The weights of one layer, as views into the flat parameter (or gradient) vector. */
interface LayerWeights {
  ln1: Floats; // (C)
  wqkv: Floats; // (S, C) = q_proj, k_proj, v_proj rows back to back
  wo: Floats; // (C, Q)
  ln2: Floats; // (C)
  wgu: Floats; // (2H, C) = gate_proj, up_proj rows back to back
  wdown: Floats; // (C, H)
}

interface Weights {
  wte: Floats; // (V, C), also the LM head (tied)
  layers: LayerWeights[];
  norm: Floats; // (C)
}

/** What the forward pass keeps for the backward pass, one set per layer. */
interface LayerActivations {
  x: Floats; // (N, C) residual stream entering the layer
  ln1: Floats; // (N, C)
  rstd1: Floats; // (N)
  qkv: Floats; // (N, S) after RoPE
  probs: Floats; // (B, nHeads, T, T)
  att: Floats; // (N, Q)
  r: Floats; // (N, C) residual stream after attention
  ln2: Floats; // (N, C)
  rstd2: Floats; // (N)
  gu: Floats; // (N, 2H)
  h: Floats; // (N, H)
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
}

/**
 * A Llama-family decoder (pre-norm RMSNorm, RoPE, causal GQA attention, SwiGLU, tied LM head)
 * with its own forward and backward pass for training, in the manner of llm.c: every op keeps
 * what its gradient needs, and backward walks the same ops in reverse.
 */
export class TrainModel {
  readonly config: TrainModelConfig;
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
  private readonly tmp: Floats; // (N, C)
  private readonly dres: Floats; // (N, C) gradient of the residual stream
  private readonly dln: Floats; // (N, C)
  private readonly dqkv: Floats; // (N, S)
  private readonly datt: Floats; // (N, Q)
  private readonly dgu: Floats; // (N, 2H)
  private readonly dh: Floats; // (N, H)
  private readonly scratch: LinearScratch;
  private readonly cos: Floats; // (T, headDim/2)
  private readonly sin: Floats;
  private readonly tokens: Int32Array;
  private readonly targets: Int32Array;
  private readonly compute: Compute;
  private lastB = 0;
  private lastT = 0;
  private haveTargets = false;

  constructor(config: TrainModelConfig, options: TrainModelOptions) {
    validateConfig(config);
    this.config = config;
    this.table = paramTable(config);
    this.numParams = paramCount(config);
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
    const B = options.batch;
    const T = options.seqLen;
    const N = B * T;
    const P = this.numParams;
    const maxOut = Math.max(S, C, 2 * H, V);
    const maxIn = Math.max(C, Q, H);
    const { memory, views } = allocateArena(kind, useWasm ? "wasm" : "plain", (alloc) => ({
      params: alloc(P),
      grads: alloc(P),
      acts: Array.from({ length: L }, () => ({
        x: alloc(N * C), ln1: alloc(N * C), rstd1: alloc(N), qkv: alloc(N * S), probs: alloc(B * nHeads * T * T),
        att: alloc(N * Q), r: alloc(N * C), ln2: alloc(N * C), rstd2: alloc(N), gu: alloc(N * 2 * H), h: alloc(N * H),
      })),
      xFinal: alloc(N * C), lnf: alloc(N * C), rstdf: alloc(N), logits: alloc(N * V), losses: alloc(N), tmp: alloc(N * C),
      dres: alloc(N * C), dln: alloc(N * C), dqkv: alloc(N * S), datt: alloc(N * Q), dgu: alloc(N * 2 * H), dh: alloc(N * H),
      scratch: { wT: alloc(maxOut * maxIn), dyT: alloc(N * maxOut), xT: alloc(N * maxIn) },
      cos: alloc(T * (hd / 2)), sin: alloc(T * (hd / 2)),
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
    this.dln = views.dln;
    this.dqkv = views.dqkv;
    this.datt = views.datt;
    this.dgu = views.dgu;
    this.dh = views.dh;
    this.scratch = views.scratch;
    this.cos = views.cos;
    this.sin = views.sin;
    ropeTable(this.cos, this.sin, T, hd, config.ropeTheta);
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
    const layers: LayerWeights[] = [];
    for (let l = 0; l < this.config.nLayers; l++) {
      const p = `model.layers.${l}.`;
      layers.push({
        ln1: one(`${p}input_layernorm.weight`),
        wqkv: span(`${p}self_attn.q_proj.weight`, `${p}self_attn.v_proj.weight`),
        wo: one(`${p}self_attn.o_proj.weight`),
        ln2: one(`${p}post_attention_layernorm.weight`),
        wgu: span(`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`),
        wdown: one(`${p}mlp.down_proj.weight`),
      });
    }
    return { wte: one("model.embed_tokens.weight"), layers, norm: one("model.norm.weight") };
  }

  /** A view of one named parameter (HF name). */
  param(name: string): Floats {
    const e = this.table.find((x) => x.name === name);
    if (!e) throw new LoomError(`no parameter named '${name}'`);
    return this.params.subarray(e.offset, e.offset + e.size);
  }

  /** GPT-2-style init: N(0, 0.02), output projections scaled by 1/√(2L), norms at 1. */
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
    const mm = this.compute;
    const d = this.dims(B, T);

    embeddingForward(this.acts.length ? this.acts[0].x : this.xFinal, this.tokens, this.w.wte, N, C);
    for (let l = 0; l < L; l++) {
      const a = this.acts[l];
      const w = this.w.layers[l];
      const next = l + 1 < L ? this.acts[l + 1].x : this.xFinal;
      // attention block
      rmsnormForward(a.ln1, a.rstd1, a.x, w.ln1, N, C, normEps);
      linearForward(mm, a.qkv, a.ln1, w.wqkv, N, C, S);
      ropeApply(a.qkv, this.cos, this.sin, N, T, S, 0, nHeads, hd, 1);
      ropeApply(a.qkv, this.cos, this.sin, N, T, S, Q, nKVHeads, hd, 1);
      mm.attentionForward(a.att, a.probs, a.qkv, d);
      linearForward(mm, this.tmp, a.att, w.wo, N, Q, C);
      residualForward(a.r, a.x, this.tmp, N * C);
      // MLP block
      rmsnormForward(a.ln2, a.rstd2, a.r, w.ln2, N, C, normEps);
      linearForward(mm, a.gu, a.ln2, w.wgu, N, C, 2 * H);
      swigluForward(a.h, a.gu, N, H);
      linearForward(mm, this.tmp, a.h, w.wdown, N, H, C);
      residualForward(next, a.r, this.tmp, N * C);
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
    const mm = this.compute;
    const s = this.scratch;
    const d = this.dims(B, T);

    softmaxCrossEntropyBackward(this.logits, this.targets, N, V, lossScale / N);
    linearBackward(mm, s, this.dln, this.g.wte, this.logits, this.lnf, this.w.wte, N, C, V);
    this.dres.fill(0);
    rmsnormBackward(this.dres, this.g.norm, this.dln, this.xFinal, this.w.norm, this.rstdf, N, C);
    for (let l = L - 1; l >= 0; l--) {
      const a = this.acts[l];
      const w = this.w.layers[l];
      const g = this.g.layers[l];
      // MLP block: dres is the gradient of its output, and also flows straight through the residual
      linearBackward(mm, s, this.dh, g.wdown, this.dres, a.h, w.wdown, N, H, C);
      swigluBackward(this.dgu, this.dh, a.gu, N, H);
      linearBackward(mm, s, this.dln, g.wgu, this.dgu, a.ln2, w.wgu, N, C, 2 * H);
      rmsnormBackward(this.dres, g.ln2, this.dln, a.r, w.ln2, a.rstd2, N, C);
      // attention block
      linearBackward(mm, s, this.datt, g.wo, this.dres, a.att, w.wo, N, Q, C);
      mm.attentionBackward(this.dqkv, this.datt, a.probs, a.qkv, d);
      ropeApply(this.dqkv, this.cos, this.sin, N, T, S, 0, nHeads, hd, -1);
      ropeApply(this.dqkv, this.cos, this.sin, N, T, S, Q, nKVHeads, hd, -1);
      linearBackward(mm, s, this.dln, g.wqkv, this.dqkv, a.ln1, w.wqkv, N, C, S);
      rmsnormBackward(this.dres, g.ln1, this.dln, a.x, w.ln1, a.rstd1, N, C);
    }
    embeddingBackward(this.g.wte, this.dres, this.tokens, N, C);
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
