import { LoomError } from "../../errors.js";
import { allocateArena, type FloatKind } from "../arena.js";
import { SerialCompute, WasmCompute, type Compute } from "../compute.js";
import { headDim } from "../config.js";
import type { ParamEntry } from "../config.js";
import type { Floats } from "../floats.js";
import type { Rng } from "../rng.js";
import type { AttentionDims } from "../ops/attention.js";
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "../ops/crossentropy.js";
import { embeddingBackward, embeddingForward } from "../ops/embedding.js";
import { linearBackward, linearForward, type LinearScratch } from "../ops/linear.js";
import { residualForward } from "../ops/residual.js";
import { rmsnormBackward, rmsnormForward } from "../ops/rmsnorm.js";
import { ropeApply, ropeTable } from "../ops/rope.js";
import { swigluBackward, swigluForward } from "../ops/swiglu.js";
import { mlpInWidth, validateVariantConfig, variantParamCount, variantParamTable, type VariantConfig } from "./config.js";
import { geluBackward, geluForward } from "./gelu.js";
import { positionBackward, positionForward } from "./positions.js";

/*
 * The same decoder as src/train/model.ts, with the block made configurable for experiments:
 * norm placement, MLP kind and position encoding (see ./config.ts). Shape names as there, plus
 * M = the MLP input projection's width (2H for SwiGLU, H for GELU).
 *
 * Pre-norm layer:  r = x + Attn(norm₁(x));      y = r + Mlp(norm₂(r))
 * Post-norm layer: r = norm₁(x + Attn(x));      y = norm₂(r + Mlp(r))
 * Both keep the final norm before the LM head, so the arms have the same parameters.
 */

interface LayerWeights {
  ln1: Floats;
  wqkv: Floats; // (S, C)
  wo: Floats; // (C, Q)
  ln2: Floats;
  win: Floats; // (M, C)
  wdown: Floats; // (C, H)
}

interface Weights {
  wte: Floats;
  wpe: Floats | null; // (maxSeqLen, C) with learned positions
  layers: LayerWeights[];
  norm: Floats;
}

interface LayerActivations {
  x: Floats; // (N, C) layer input
  attIn: Floats; // (N, C) pre: norm₁(x); post: unused (the input is x)
  rstd1: Floats;
  qkv: Floats; // (N, S)
  probs: Floats;
  att: Floats; // (N, Q)
  sum1: Floats; // (N, C) post: x + Attn(x), the norm₁ input
  r: Floats; // (N, C) the stream between the two sublayers
  mlpIn: Floats; // (N, C) pre: norm₂(r)
  rstd2: Floats;
  u: Floats; // (N, M)
  h: Floats; // (N, H)
  sum2: Floats; // (N, C) post: r + Mlp(r), the norm₂ input
}

export interface VariantModelOptions {
  batch: number;
  seqLen: number;
  kind?: FloatKind;
  threads?: number;
  wasm?: boolean;
}

export class VariantModel {
  readonly config: VariantConfig;
  readonly table: ParamEntry[];
  readonly numParams: number;
  readonly maxB: number;
  readonly maxT: number;
  readonly params: Floats;
  readonly grads: Floats;
  private readonly w: Weights;
  private readonly g: Weights;
  private readonly acts: LayerActivations[];
  private readonly xFinal: Floats;
  private readonly lnf: Floats;
  private readonly rstdf: Floats;
  readonly logits: Floats;
  private readonly losses: Floats;
  private readonly tmp: Floats;
  private readonly dres: Floats;
  private readonly dsum: Floats;
  private readonly dln: Floats;
  private readonly dqkv: Floats;
  private readonly datt: Floats;
  private readonly du: Floats;
  private readonly dh: Floats;
  private readonly scratch: LinearScratch;
  private readonly cos: Floats;
  private readonly sin: Floats;
  private readonly tokens: Int32Array;
  private readonly targets: Int32Array;
  private readonly compute: Compute;
  private lastB = 0;
  private lastT = 0;
  private haveTargets = false;

  constructor(config: VariantConfig, options: VariantModelOptions) {
    validateVariantConfig(config);
    if (options.seqLen > config.maxSeqLen) {
      throw new LoomError(`sequence length ${options.seqLen} exceeds the model's maxSeqLen ${config.maxSeqLen}`);
    }
    this.config = config;
    this.table = variantParamTable(config);
    this.numParams = variantParamCount(config);
    this.maxB = options.batch;
    this.maxT = options.seqLen;
    const kind = options.kind ?? "f32";
    const useWasm = kind === "f32" && options.wasm !== false;
    const threads = useWasm ? Math.max(1, options.threads ?? 1) : 1;
    const { vocabSize: V, dim: C, nLayers: L, nHeads, nKVHeads, hiddenDim: H } = config;
    const hd = headDim(config);
    const Q = nHeads * hd;
    const S = Q + 2 * nKVHeads * hd;
    const M = mlpInWidth(config);
    const B = options.batch;
    const T = options.seqLen;
    const N = B * T;
    const maxOut = Math.max(S, C, M, V);
    const maxIn = Math.max(C, Q, H);
    const { memory, views } = allocateArena(kind, useWasm ? "wasm" : "plain", (alloc) => ({
      params: alloc(this.numParams),
      grads: alloc(this.numParams),
      acts: Array.from({ length: L }, () => ({
        x: alloc(N * C), attIn: alloc(N * C), rstd1: alloc(N), qkv: alloc(N * S), probs: alloc(B * nHeads * T * T),
        att: alloc(N * Q), sum1: alloc(N * C), r: alloc(N * C), mlpIn: alloc(N * C), rstd2: alloc(N), u: alloc(N * M),
        h: alloc(N * H), sum2: alloc(N * C),
      })),
      xFinal: alloc(N * C), lnf: alloc(N * C), rstdf: alloc(N), logits: alloc(N * V), losses: alloc(N), tmp: alloc(N * C),
      dres: alloc(N * C), dsum: alloc(N * C), dln: alloc(N * C), dqkv: alloc(N * S), datt: alloc(N * Q), du: alloc(N * M),
      dh: alloc(N * H),
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
    this.dsum = views.dsum;
    this.dln = views.dln;
    this.dqkv = views.dqkv;
    this.datt = views.datt;
    this.du = views.du;
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
    const swiglu = this.config.variant.mlp === "swiglu";
    const layers: LayerWeights[] = [];
    for (let l = 0; l < this.config.nLayers; l++) {
      const p = `model.layers.${l}.`;
      layers.push({
        ln1: one(`${p}input_layernorm.weight`),
        wqkv: span(`${p}self_attn.q_proj.weight`, `${p}self_attn.v_proj.weight`),
        wo: one(`${p}self_attn.o_proj.weight`),
        ln2: one(`${p}post_attention_layernorm.weight`),
        win: span(swiglu ? `${p}mlp.gate_proj.weight` : `${p}mlp.up_proj.weight`, `${p}mlp.up_proj.weight`),
        wdown: one(`${p}mlp.down_proj.weight`),
      });
    }
    const learned = this.config.variant.positions === "learned";
    return { wte: one("model.embed_tokens.weight"), wpe: learned ? one("model.embed_positions.weight") : null, layers, norm: one("model.norm.weight") };
  }

  /** The trainer's init (N(0, 0.02), output projections /√(2L), norms at 1); the position table too is N(0, 0.02). */
  initialize(rng: Rng): void {
    for (const e of this.table) {
      const view = this.params.subarray(e.offset, e.offset + e.size);
      if (e.shape.length === 1) {
        view.fill(1);
        continue;
      }
      const isOutput = e.name.endsWith("o_proj.weight") || e.name.endsWith("down_proj.weight");
      const s = isOutput ? 0.02 / Math.sqrt(2 * this.config.nLayers) : 0.02;
      for (let i = 0; i < view.length; i++) view[i] = rng.normal() * s;
    }
  }

  private dims(B: number, T: number): AttentionDims {
    return { B, T, nHeads: this.config.nHeads, nKVHeads: this.config.nKVHeads, headDim: headDim(this.config) };
  }

  /** As TrainModel.forward: the mean cross-entropy with targets, NaN (logits kept) without. */
  forward(tokens: ArrayLike<number>, targets: ArrayLike<number> | null, B: number, T: number): number {
    const { vocabSize: V, dim: C, nLayers: L, nHeads, nKVHeads, hiddenDim: H, normEps, variant } = this.config;
    if (B < 1 || T < 1 || B > this.maxB || T > this.maxT) {
      throw new LoomError(`forward: batch ${B} × length ${T} exceeds the allocated ${this.maxB} × ${this.maxT}`);
    }
    const N = B * T;
    if (tokens.length < N || (targets && targets.length < N)) {
      throw new LoomError(`forward: expected ${N} tokens${targets ? " and targets" : ""}, got ${tokens.length}`);
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
    const M = mlpInWidth(this.config);
    const mm = this.compute;
    const d = this.dims(B, T);
    const pre = variant.norm === "pre";
    const rope = variant.positions === "rope";

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
      if (rope) {
        ropeApply(a.qkv, this.cos, this.sin, N, T, S, 0, nHeads, hd, 1);
        ropeApply(a.qkv, this.cos, this.sin, N, T, S, Q, nKVHeads, hd, 1);
      }
      mm.attentionForward(a.att, a.probs, a.qkv, d);
      linearForward(mm, this.tmp, a.att, w.wo, N, Q, C);
      if (pre) residualForward(a.r, a.x, this.tmp, N * C);
      else {
        residualForward(a.sum1, a.x, this.tmp, N * C);
        rmsnormForward(a.r, a.rstd1, a.sum1, w.ln1, N, C, normEps);
      }
      // MLP sublayer
      if (pre) rmsnormForward(a.mlpIn, a.rstd2, a.r, w.ln2, N, C, normEps);
      linearForward(mm, a.u, pre ? a.mlpIn : a.r, w.win, N, C, M);
      if (variant.mlp === "swiglu") swigluForward(a.h, a.u, N, H);
      else geluForward(a.h, a.u, N * H);
      linearForward(mm, this.tmp, a.h, w.wdown, N, H, C);
      if (pre) residualForward(next, a.r, this.tmp, N * C);
      else {
        residualForward(a.sum2, a.r, this.tmp, N * C);
        rmsnormForward(next, a.rstd2, a.sum2, w.ln2, N, C, normEps);
      }
    }
    rmsnormForward(this.lnf, this.rstdf, this.xFinal, this.w.norm, N, C, normEps);
    linearForward(mm, this.logits, this.lnf, this.w.wte, N, C, V);
    if (!targets) return NaN;
    return softmaxCrossEntropyForward(this.losses, this.logits, this.targets, N, V);
  }

  /** Adds the gradient of (mean loss · lossScale) to `grads`. */
  backward(lossScale = 1): void {
    if (!this.haveTargets) throw new LoomError("backward: the last forward had no targets");
    this.haveTargets = false;
    const { vocabSize: V, dim: C, nLayers: L, nHeads, nKVHeads, hiddenDim: H, variant } = this.config;
    const B = this.lastB;
    const T = this.lastT;
    const N = B * T;
    const hd = headDim(this.config);
    const Q = nHeads * hd;
    const S = Q + 2 * nKVHeads * hd;
    const M = mlpInWidth(this.config);
    const mm = this.compute;
    const s = this.scratch;
    const d = this.dims(B, T);
    const pre = variant.norm === "pre";
    const rope = variant.positions === "rope";
    const { dres, dsum, dln } = this;

    softmaxCrossEntropyBackward(this.logits, this.targets, N, V, lossScale / N);
    linearBackward(mm, s, dln, this.g.wte, this.logits, this.lnf, this.w.wte, N, C, V);
    dres.fill(0);
    rmsnormBackward(dres, this.g.norm, dln, this.xFinal, this.w.norm, this.rstdf, N, C);
    for (let l = L - 1; l >= 0; l--) {
      const a = this.acts[l];
      const w = this.w.layers[l];
      const g = this.g.layers[l];
      // MLP sublayer. `dy` is the gradient at the residual sum's output (pre: dres itself; post: through norm₂).
      let dy = dres;
      if (!pre) {
        dsum.fill(0);
        rmsnormBackward(dsum, g.ln2, dres, a.sum2, w.ln2, a.rstd2, N, C);
        dy = dsum;
      }
      linearBackward(mm, s, this.dh, g.wdown, dy, a.h, w.wdown, N, H, C);
      if (variant.mlp === "swiglu") swigluBackward(this.du, this.dh, a.u, N, H);
      else geluBackward(this.du, this.dh, a.u, N * H);
      linearBackward(mm, s, dln, g.win, this.du, pre ? a.mlpIn : a.r, w.win, N, C, M);
      if (pre) rmsnormBackward(dres, g.ln2, dln, a.r, w.ln2, a.rstd2, N, C);
      else for (let i = 0; i < N * C; i++) dres[i] = dsum[i] + dln[i]; // d r = skip path + MLP path
      // attention sublayer
      dy = dres;
      if (!pre) {
        dsum.fill(0);
        rmsnormBackward(dsum, g.ln1, dres, a.sum1, w.ln1, a.rstd1, N, C);
        dy = dsum;
      }
      linearBackward(mm, s, this.datt, g.wo, dy, a.att, w.wo, N, Q, C);
      mm.attentionBackward(this.dqkv, this.datt, a.probs, a.qkv, d);
      if (rope) {
        ropeApply(this.dqkv, this.cos, this.sin, N, T, S, 0, nHeads, hd, -1);
        ropeApply(this.dqkv, this.cos, this.sin, N, T, S, Q, nKVHeads, hd, -1);
      }
      linearBackward(mm, s, dln, g.wqkv, this.dqkv, pre ? a.attIn : a.x, w.wqkv, N, C, S);
      if (pre) rmsnormBackward(dres, g.ln1, dln, a.x, w.ln1, a.rstd1, N, C);
      else for (let i = 0; i < N * C; i++) dres[i] = dsum[i] + dln[i];
    }
    embeddingBackward(this.g.wte, dres, this.tokens, N, C);
    if (this.g.wpe) positionBackward(this.g.wpe, dres, N, T, C);
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  /** Per-position losses of the last forward with targets (B·T, row-major). */
  positionLosses(): Floats {
    return this.losses.subarray(0, this.lastB * this.lastT);
  }

  dispose(): void {
    this.compute.dispose();
  }
}
