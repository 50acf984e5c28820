/**
 * The Llama family — Llama 2/3, TinyLlama, SmolLM, Mistral, Qwen2 — as one config-driven graph:
 *   x = embed(tokens)
 *   per layer:  x += o(attn(rope(q(RMSNorm(x))), rope(k(·)), v(·)))   (GQA/MQA, optional q/k/v biases)
 *               x += down(silu(gate(RMSNorm(x))) · up(RMSNorm(x)))
 *   logits = head(RMSNorm(x))        (head tied to the embedding when the checkpoint has none)
 *
 * HF checkpoints keep Q/K rows in rotate-half order (NEOX RoPE). llama.cpp's converter permutes
 * the Q/K rows of `llama` GGUF files so adjacent pairs rotate together ("normal" RoPE); `qwen2`
 * GGUF files are not permuted (NEOX). The pairing is a config field, so this file never asks
 * which format it came from beyond picking a name table.
 */
import { LoomError } from "../errors.js";
import { add } from "../kernels/elementwise.js";
import { applyRopeFreqFactors, llama3RopeFactors, ropeInvFreq, type Llama3RopeScaling, type RopeStyle } from "../kernels/rope.js";
import { SelfAttention, type AttentionScratch } from "../nn/attention.js";
import { tensorToFloat32 } from "../nn/create-matrix.js";
import { Embedding } from "../nn/embedding.js";
import { DenseKVCache } from "../nn/kv-cache.js";
import type { Matrix } from "../nn/matrix.js";
import { SwiGLUMLP } from "../nn/mlp.js";
import { RMSNorm } from "../nn/norms.js";
import { RotaryEmbedding } from "../nn/rope.js";
import type { WeightSource } from "../weights/source.js";
import { ConfigFields, firstId, type JsonObject } from "./fields.js";
import { checkForward } from "./forward-checks.js";
import { ggufVocabSize, TensorLoader } from "./tensor-loader.js";
import type { CausalLM, ForwardOptions, KVCache, ModelConfig } from "./types.js";

export type LlamaArchitecture = "llama" | "mistral" | "qwen2";

export type RopeScaling =
  | ({ type: "llama3" } & Llama3RopeScaling)
  | { type: "linear"; factor: number };

export interface LlamaConfig extends ModelConfig {
  architecture: LlamaArchitecture;
  rmsNormEps: number;
  ropeTheta: number;
  /** How Q/K dimensions pair up for RoPE: "neox" (HF, GGUF qwen2) or "normal" (GGUF llama). */
  ropeStyle: RopeStyle;
  /** Dims of each head that RoPE rotates. */
  ropeDim: number;
  ropeScaling?: RopeScaling;
  /** Biases on q/k/v (Qwen2; Llama's attention_bias), on o, and on the MLP (Llama's mlp_bias). */
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
  /** Mistral's sliding window, if any. */
  slidingWindow?: number;
}

// ---------------------------------------------------------------------------------------------
// Configuration

const DEFAULT_MAX_POSITIONS: Record<LlamaArchitecture, number> = { llama: 2048, mistral: 32768, qwen2: 32768 };

/** From an HF config.json (LlamaConfig / MistralConfig / Qwen2Config, with HF's defaults). */
export function llamaConfigFromHF(json: JsonObject, origin: string, architecture: LlamaArchitecture): LlamaConfig {
  const f = ConfigFields.fromJson(json, origin);
  const activation = f.string("hidden_act", "silu");
  if (activation !== "silu") throw new LoomError(`${origin}: hidden_act "${activation}" is not supported (silu)`);
  const hiddenSize = f.int("hidden_size");
  const numHeads = f.int("num_attention_heads");
  if (!f.has("head_dim") && hiddenSize % numHeads !== 0) {
    throw new LoomError(`${origin}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  const headDim = f.int("head_dim", hiddenSize / numHeads);
  const attentionBias = f.boolean("attention_bias", false);
  const slidingWindow = architecture === "mistral" ? f.optionalInt("sliding_window") : undefined;
  if (architecture === "qwen2" && f.boolean("use_sliding_window", false)) {
    throw new LoomError(`${origin}: Qwen2 use_sliding_window is not supported`);
  }
  return checked({
    architecture,
    vocabSize: f.int("vocab_size"),
    hiddenSize,
    numLayers: f.int("num_hidden_layers"),
    numHeads,
    numKVHeads: f.int("num_key_value_heads", numHeads),
    headDim,
    intermediateSize: f.int("intermediate_size"),
    maxPositions: f.int("max_position_embeddings", DEFAULT_MAX_POSITIONS[architecture]),
    rmsNormEps: f.number("rms_norm_eps", 1e-6),
    ropeTheta: f.number("rope_theta", 10000),
    ropeStyle: "neox",
    ropeDim: headDim,
    ropeScaling: hfRopeScaling(json.rope_scaling, origin),
    qkvBias: architecture === "qwen2" || attentionBias,
    outputBias: architecture !== "qwen2" && attentionBias,
    mlpBias: f.boolean("mlp_bias", false),
    slidingWindow,
    bosTokenId: firstId(f.ids("bos_token_id")),
    eosTokenId: f.ids("eos_token_id"),
    padTokenId: firstId(f.ids("pad_token_id")),
  }, origin);
}

function hfRopeScaling(value: unknown, origin: string): RopeScaling | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw new LoomError(`${origin}: rope_scaling must be an object`);
  const f = ConfigFields.fromJson(value as JsonObject, `${origin} (rope_scaling)`);
  const type = f.string(["rope_type", "type"], "default");
  if (type === "default") return undefined;
  if (type === "linear") return { type, factor: f.number("factor") };
  if (type === "llama3") {
    return {
      type,
      factor: f.number("factor"),
      lowFreqFactor: f.number("low_freq_factor"),
      highFreqFactor: f.number("high_freq_factor"),
      originalMaxPositions: f.number("original_max_position_embeddings"),
    };
  }
  throw new LoomError(`${origin}: rope_scaling type "${type}" is not supported (linear, llama3)`);
}

/** From GGUF metadata (`{arch}.*` keys); the vocabulary size is token_embd's row count. */
export function llamaConfigFromGGUF(source: WeightSource, architecture: "llama" | "qwen2"): LlamaConfig {
  const f = ConfigFields.fromMetadata(source.metadata, source.origin);
  const key = (k: string) => `${architecture}.${k}`;
  const hiddenSize = f.int(key("embedding_length"));
  const numHeads = f.int(key("attention.head_count"));
  if (!f.has(key("attention.key_length")) && hiddenSize % numHeads !== 0) {
    throw new LoomError(`${source.origin}: embedding length ${hiddenSize} is not divisible by ${numHeads} heads`);
  }
  const headDim = f.int(key("attention.key_length"), hiddenSize / numHeads);
  const scalingType = f.string(key("rope.scaling.type"), "none");
  let ropeScaling: RopeScaling | undefined;
  if (scalingType === "linear") ropeScaling = { type: "linear", factor: f.number(key("rope.scaling.factor")) };
  else if (scalingType !== "none") {
    throw new LoomError(`${source.origin}: rope scaling type "${scalingType}" is not supported (none, linear)`);
  }
  const hasBias = (name: string) => source.has(`blk.0.${name}.bias`);
  return checked({
    architecture,
    vocabSize: ggufVocabSize(source, hiddenSize),
    hiddenSize,
    numLayers: f.int(key("block_count")),
    numHeads,
    numKVHeads: f.int(key("attention.head_count_kv"), numHeads),
    headDim,
    intermediateSize: f.int(key("feed_forward_length")),
    maxPositions: f.int(key("context_length")),
    rmsNormEps: f.number(key("attention.layer_norm_rms_epsilon")),
    ropeTheta: f.number(key("rope.freq_base"), 10000),
    ropeStyle: architecture === "llama" ? "normal" : "neox",
    ropeDim: f.int(key("rope.dimension_count"), headDim),
    ropeScaling,
    qkvBias: architecture === "qwen2" || hasBias("attn_q"),
    outputBias: hasBias("attn_output"),
    mlpBias: hasBias("ffn_up"),
    bosTokenId: firstId(f.ids("tokenizer.ggml.bos_token_id")),
    eosTokenId: f.ids("tokenizer.ggml.eos_token_id"),
    padTokenId: firstId(f.ids("tokenizer.ggml.padding_token_id")),
  }, source.origin);
}

function checked(c: LlamaConfig, origin: string): LlamaConfig {
  if (c.numHeads % c.numKVHeads !== 0) {
    throw new LoomError(`${origin}: ${c.numHeads} attention heads cannot be shared by ${c.numKVHeads} key/value heads`);
  }
  if (c.ropeDim % 2 !== 0 || c.ropeDim > c.headDim) {
    throw new LoomError(`${origin}: rope dimension ${c.ropeDim} must be even and at most the head size ${c.headDim}`);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Weight names

interface LlamaNames {
  tokenEmbd: string;
  outputNorm: string;
  output: string;
  /** GGUF's precomputed RoPE frequency divisors (llama3 scaling), when present. */
  ropeFreqs?: string;
  attnNorm(l: number): string;
  q(l: number): string;
  k(l: number): string;
  v(l: number): string;
  o(l: number): string;
  ffnNorm(l: number): string;
  gate(l: number): string;
  up(l: number): string;
  down(l: number): string;
}

const HF_NAMES: LlamaNames = {
  tokenEmbd: "model.embed_tokens", outputNorm: "model.norm", output: "lm_head",
  attnNorm: (l) => `model.layers.${l}.input_layernorm`,
  q: (l) => `model.layers.${l}.self_attn.q_proj`,
  k: (l) => `model.layers.${l}.self_attn.k_proj`,
  v: (l) => `model.layers.${l}.self_attn.v_proj`,
  o: (l) => `model.layers.${l}.self_attn.o_proj`,
  ffnNorm: (l) => `model.layers.${l}.post_attention_layernorm`,
  gate: (l) => `model.layers.${l}.mlp.gate_proj`,
  up: (l) => `model.layers.${l}.mlp.up_proj`,
  down: (l) => `model.layers.${l}.mlp.down_proj`,
};

const GGUF_NAMES: LlamaNames = {
  tokenEmbd: "token_embd", outputNorm: "output_norm", output: "output", ropeFreqs: "rope_freqs",
  attnNorm: (l) => `blk.${l}.attn_norm`,
  q: (l) => `blk.${l}.attn_q`,
  k: (l) => `blk.${l}.attn_k`,
  v: (l) => `blk.${l}.attn_v`,
  o: (l) => `blk.${l}.attn_output`,
  ffnNorm: (l) => `blk.${l}.ffn_norm`,
  gate: (l) => `blk.${l}.ffn_gate`,
  up: (l) => `blk.${l}.ffn_up`,
  down: (l) => `blk.${l}.ffn_down`,
};

// ---------------------------------------------------------------------------------------------
// Model

interface LlamaBlock {
  attnNorm: RMSNorm;
  attn: SelfAttention;
  ffnNorm: RMSNorm;
  mlp: SwiGLUMLP;
}

/** The RoPE inverse frequencies after any scaling the config or the file asks for. */
function ropeFrequencies(c: LlamaConfig, w: TensorLoader, names: LlamaNames): Float64Array {
  const invFreq = ropeInvFreq(c.ropeDim, c.ropeTheta);
  const s = c.ropeScaling;
  if (s?.type === "llama3") applyRopeFreqFactors(invFreq, llama3RopeFactors(invFreq, s));
  if (s?.type === "linear") for (let i = 0; i < invFreq.length; i++) invFreq[i] /= s.factor;
  if (names.ropeFreqs && w.has(`${names.ropeFreqs}.weight`)) {
    applyRopeFreqFactors(invFreq, tensorToFloat32(w.tensor(`${names.ropeFreqs}.weight`, [c.ropeDim / 2])));
  }
  return invFreq;
}

export function buildLlama(config: LlamaConfig, source: WeightSource, layout: "hf" | "gguf"): CausalLM {
  const names = layout === "hf" ? HF_NAMES : GGUF_NAMES;
  const w = new TensorLoader(source);
  const c = config;
  const d = c.hiddenSize, ff = c.intermediateSize;
  const qDim = c.numHeads * c.headDim, kvDim = c.numKVHeads * c.headDim;
  const rmsNorm = (base: string) => new RMSNorm(w.vector(`${base}.weight`, d), c.rmsNormEps);
  const rope = new RotaryEmbedding(ropeFrequencies(c, w, names), c.ropeStyle, c.headDim);

  const embedding = new Embedding(w.matrix(`${names.tokenEmbd}.weight`, c.vocabSize, d));
  const blocks: LlamaBlock[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    blocks.push({
      attnNorm: rmsNorm(names.attnNorm(l)),
      attn: new SelfAttention(
        { nHeads: c.numHeads, nKVHeads: c.numKVHeads, headDim: c.headDim, window: c.slidingWindow },
        {
          kind: "separate",
          q: w.linear(names.q(l), qDim, d, c.qkvBias),
          k: w.linear(names.k(l), kvDim, d, c.qkvBias),
          v: w.linear(names.v(l), kvDim, d, c.qkvBias),
        },
        w.linear(names.o(l), d, qDim, c.outputBias),
        rope,
      ),
      ffnNorm: rmsNorm(names.ffnNorm(l)),
      mlp: new SwiGLUMLP(
        w.linear(names.gate(l), ff, d, c.mlpBias),
        w.linear(names.up(l), ff, d, c.mlpBias),
        w.linear(names.down(l), d, ff, c.mlpBias),
      ),
    });
  }
  const outputNorm = rmsNorm(names.outputNorm);
  // No separate head in the file means the head is tied to the embedding.
  const head = w.has(`${names.output}.weight`) ? w.matrix(`${names.output}.weight`, c.vocabSize, d) : embedding.table;
  return new LlamaModel(config, embedding, blocks, outputNorm, head);
}

class LlamaModel implements CausalLM {
  private capacity = 0; // rows the buffers below hold
  private x = new Float32Array(0); // (n, nEmbd) residual stream
  private xb = new Float32Array(0); // (n, nEmbd) normalized input of a sublayer
  private xb2 = new Float32Array(0); // (n, nEmbd) output of a sublayer
  private h1 = new Float32Array(0); // (n, nFF) gate, then silu(gate)·up
  private h2 = new Float32Array(0); // (n, nFF) up
  private attnScratch: AttentionScratch = {
    q: new Float32Array(0), // (n, nHeads·headDim)
    qkv: new Float32Array(0), // unused: Q, K, V are separate projections
    context: new Float32Array(0), // (n, nHeads·headDim)
    scores: new Float32Array(0), // (kvLen)
  };

  constructor(
    readonly config: LlamaConfig,
    private readonly embedding: Embedding,
    private readonly blocks: LlamaBlock[],
    private readonly outputNorm: RMSNorm,
    private readonly head: Matrix,
  ) {}

  createCache(): DenseKVCache {
    const c = this.config;
    return new DenseKVCache(c.numLayers, c.numKVHeads * c.headDim, c.maxPositions);
  }

  async forward(tokens: ArrayLike<number>, startPos: number, kvCache: KVCache, options: ForwardOptions = {}): Promise<Float32Array> {
    const cache = checkForward(this.config, tokens, startPos, kvCache);
    const { hiddenSize: d, vocabSize } = this.config;
    const n = tokens.length;
    const trace = options.trace;
    cache.reserve(startPos + n);
    this.ensureBuffers(n, cache.allocated);
    const { x, xb, xb2, h1, h2 } = this;

    this.embedding.forward(x, tokens); // (n, nEmbd)
    trace?.("embd", -1, x.subarray(0, n * d));

    for (let l = 0; l < this.blocks.length; l++) {
      const b = this.blocks[l];
      b.attnNorm.forward(xb, x, n); // (n, nEmbd)
      b.attn.forward(xb2, xb, n, startPos, cache, l, this.attnScratch, trace); // (n, nEmbd)
      add(x, x, xb2, n * d);
      trace?.("attn_residual", l, x.subarray(0, n * d));
      b.ffnNorm.forward(xb, x, n);
      b.mlp.forward(xb2, xb, n, h1, h2);
      add(x, x, xb2, n * d);
      trace?.("l_out", l, x.subarray(0, n * d));
    }
    cache.commit(startPos + n);

    // Final norm and LM head only for the rows that need logits.
    const nOut = options.logits === "all" ? n : 1;
    const rows = x.subarray((n - nOut) * d, n * d); // (nOut, nEmbd)
    this.outputNorm.forward(xb, rows, nOut);
    trace?.("result_norm", -1, xb.subarray(0, nOut * d));
    const logits = new Float32Array(nOut * vocabSize); // (nOut, vocab), owned by the caller
    this.head.matmul(logits, xb, nOut);
    return logits;
  }

  private ensureBuffers(n: number, kvCapacity: number): void {
    const c = this.config;
    const qDim = c.numHeads * c.headDim;
    if (n > this.capacity) {
      this.capacity = n;
      this.x = new Float32Array(n * c.hiddenSize);
      this.xb = new Float32Array(n * c.hiddenSize);
      this.xb2 = new Float32Array(n * c.hiddenSize);
      this.h1 = new Float32Array(n * c.intermediateSize);
      this.h2 = new Float32Array(n * c.intermediateSize);
      this.attnScratch.q = new Float32Array(n * qDim);
      this.attnScratch.context = new Float32Array(n * qDim);
    }
    if (this.attnScratch.scores.length < kvCapacity) this.attnScratch.scores = new Float32Array(kvCapacity);
  }
}
