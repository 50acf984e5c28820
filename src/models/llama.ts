/**
 * The Llama family — Llama 2/3, TinyLlama, SmolLM, Mistral, Qwen2, Qwen3 — as one config-driven graph:
 *   x = embed(tokens)
 *   per layer:  x += o(attn(rope(qNorm(q(RMSNorm(x)))), rope(kNorm(k(·))), v(·)))
 *                    (GQA/MQA, optional q/k/v biases, Qwen3's per-head q/k RMSNorm, sliding windows)
 *               x += down(silu(gate(RMSNorm(x))) · up(RMSNorm(x)))
 *   logits = head(RMSNorm(x))        (head tied to the embedding when the checkpoint has none)
 *
 * HF checkpoints keep Q/K rows in rotate-half order (NEOX RoPE). llama.cpp's converter permutes
 * the Q/K rows of `llama` GGUF files so adjacent pairs rotate together ("normal" RoPE); `qwen2`
 * and `qwen3` GGUF files are not permuted (NEOX). The pairing is a config field, so this file
 * never asks which format it came from beyond picking a name table.
 *
 * Sliding windows (Mistral's `sliding_window`, Qwen's use_sliding_window, explicit `layer_types`)
 * live in the cache: createCache gives windowed layers a ring bounded by the window. llama.cpp's
 * llama/qwen2/qwen3 graphs have no sliding window, so GGUF files of these families attend globally.
 */
import { LoomError } from "../errors.js";
import type { RopeStyle } from "../kernels/rope.js";
import { SelfAttention } from "../nn/attention.js";
import { tensorToFloat32 } from "../nn/create-matrix.js";
import { Embedding } from "../nn/embedding.js";
import { SwiGLUMLP } from "../nn/mlp.js";
import { RMSNorm } from "../nn/norms.js";
import { DecoderModel, type DecoderBlock } from "./decoder.js";
import { RotaryEmbedding } from "../nn/rope.js";
import { ropeScalingFromGGUF, ropeScalingFromHF, type RopeScaling } from "../nn/rope-scaling.js";
import type { WeightSource } from "../weights/source.js";
import { ConfigFields, firstId, type JsonObject } from "./fields.js";
import { layerTypesFromHF, type AttentionLayerType } from "./layer-types.js";
import { ggufVocabSize, TensorLoader, type WeightOptions } from "./tensor-loader.js";
import type { CausalLM, ModelConfig } from "./types.js";

export type { RopeScaling };

export type LlamaArchitecture = "llama" | "mistral" | "qwen2" | "qwen3";

export interface LlamaConfig extends ModelConfig {
  architecture: LlamaArchitecture;
  rmsNormEps: number;
  ropeTheta: number;
  /** How Q/K dimensions pair up for RoPE: "neox" (HF, GGUF qwen2/qwen3) or "normal" (GGUF llama). */
  ropeStyle: RopeStyle;
  /** Dims of each head that RoPE rotates. */
  ropeDim: number;
  /** Context extension (src/nn/rope-scaling.ts); { type: "none" } without one. */
  ropeScaling: RopeScaling;
  /** Biases on q/k/v (Qwen2; Llama's attention_bias), on o, and on the MLP (Llama's mlp_bias). */
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
  /** Per-head RMSNorm on queries and keys before RoPE (Qwen3). */
  qkNorm: boolean;
  /** The sliding window of the layers whose type is "sliding_attention" (a query sees this many keys, itself included). */
  slidingWindow?: number;
  layerTypes: AttentionLayerType[];
}

// ---------------------------------------------------------------------------------------------
// Configuration

const DEFAULT_MAX_POSITIONS: Record<LlamaArchitecture, number> = { llama: 2048, mistral: 32768, qwen2: 32768, qwen3: 32768 };

/** From an HF config.json (LlamaConfig / MistralConfig / Qwen2Config / Qwen3Config, with HF's defaults). */
export function llamaConfigFromHF(json: JsonObject, origin: string, architecture: LlamaArchitecture): LlamaConfig {
  const f = ConfigFields.fromJson(json, origin);
  const activation = f.string("hidden_act", "silu");
  if (activation !== "silu") throw new LoomError(`${origin}: hidden_act "${activation}" is not supported (silu)`);
  const hiddenSize = f.int("hidden_size");
  const numHeads = f.int("num_attention_heads");
  const qwen3 = architecture === "qwen3";
  if (!f.has("head_dim") && !qwen3 && hiddenSize % numHeads !== 0) {
    throw new LoomError(`${origin}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  }
  // Qwen3Config's head_dim defaults to 128, whatever hidden_size / heads is.
  const headDim = f.int("head_dim", qwen3 ? 128 : hiddenSize / numHeads);
  const attentionBias = f.boolean("attention_bias", false);
  const numLayers = f.int("num_hidden_layers");
  const { slidingWindow, layerTypes } = hfWindows(json, f, architecture, numLayers, origin);
  const ropeScaling = ropeScalingFromHF(json, origin);
  const configuredMax = f.int("max_position_embeddings", DEFAULT_MAX_POSITIONS[architecture]);
  return checked({
    architecture,
    vocabSize: f.int("vocab_size"),
    hiddenSize,
    numLayers,
    numHeads,
    numKVHeads: f.int("num_key_value_heads", numHeads),
    headDim,
    intermediateSize: f.int("intermediate_size"),
    // Dynamic NTK's max_position_embeddings is the original context it extends by `factor`.
    maxPositions: ropeScaling.type === "dynamic" ? Math.floor(configuredMax * ropeScaling.factor) : configuredMax,
    rmsNormEps: f.number("rms_norm_eps", 1e-6),
    ropeTheta: f.number("rope_theta", 10000),
    ropeStyle: "neox",
    ropeDim: headDim,
    ropeScaling,
    qkvBias: architecture === "qwen2" || attentionBias,
    outputBias: architecture !== "qwen2" && attentionBias,
    mlpBias: f.boolean("mlp_bias", false),
    qkNorm: qwen3,
    slidingWindow,
    layerTypes,
    bosTokenId: firstId(f.ids("bos_token_id")),
    eosTokenId: f.ids("eos_token_id"),
    padTokenId: firstId(f.ids("pad_token_id")),
  }, origin);
}

/**
 * HF's window rules: Mistral slides every layer (sliding_window defaults to 4096; null turns it
 * off); Qwen2/3 slide layers from max_window_layers on when use_sliding_window is set; an explicit
 * `layer_types` list wins over both.
 */
function hfWindows(
  json: JsonObject, f: ConfigFields, architecture: LlamaArchitecture, numLayers: number, origin: string,
): { slidingWindow?: number; layerTypes: AttentionLayerType[] } {
  let window: number | undefined;
  let rule: (layer: number) => AttentionLayerType = () => "full_attention";
  if (architecture === "mistral") {
    window = json.sliding_window === undefined ? 4096 : f.optionalInt("sliding_window");
    if (window !== undefined) rule = () => "sliding_attention";
  } else if (architecture === "qwen2" || architecture === "qwen3") {
    if (f.boolean("use_sliding_window", false)) {
      window = f.optionalInt("sliding_window");
      const firstSliding = f.int("max_window_layers", 28);
      if (window !== undefined) rule = (l) => (l >= firstSliding ? "sliding_attention" : "full_attention");
    }
  }
  const layerTypes = layerTypesFromHF(json.layer_types, numLayers, origin, rule);
  if (window === undefined && layerTypes.includes("sliding_attention")) {
    window = f.optionalInt("sliding_window");
    if (window === undefined) throw new LoomError(`${origin}: "layer_types" has sliding layers but no "sliding_window" is set`);
  }
  return { slidingWindow: window, layerTypes };
}

export type LlamaGGUFArchitecture = "llama" | "qwen2" | "qwen3";

/** From GGUF metadata (`{arch}.*` keys); the vocabulary size is token_embd's row count. */
export function llamaConfigFromGGUF(source: WeightSource, architecture: LlamaGGUFArchitecture): LlamaConfig {
  const f = ConfigFields.fromMetadata(source.metadata, source.origin);
  const key = (k: string) => `${architecture}.${k}`;
  const hiddenSize = f.int(key("embedding_length"));
  const numHeads = f.int(key("attention.head_count"));
  if (!f.has(key("attention.key_length")) && hiddenSize % numHeads !== 0) {
    throw new LoomError(`${source.origin}: embedding length ${hiddenSize} is not divisible by ${numHeads} heads`);
  }
  const headDim = f.int(key("attention.key_length"), hiddenSize / numHeads);
  const hasBias = (name: string) => source.has(`blk.0.${name}.bias`);
  const numLayers = f.int(key("block_count"));
  return checked({
    architecture,
    vocabSize: ggufVocabSize(source, hiddenSize),
    hiddenSize,
    numLayers,
    numHeads,
    numKVHeads: f.int(key("attention.head_count_kv"), numHeads),
    headDim,
    intermediateSize: f.int(key("feed_forward_length")),
    maxPositions: f.int(key("context_length")),
    rmsNormEps: f.number(key("attention.layer_norm_rms_epsilon")),
    ropeTheta: f.number(key("rope.freq_base"), 10000),
    ropeStyle: architecture === "llama" ? "normal" : "neox",
    ropeDim: f.int(key("rope.dimension_count"), headDim),
    ropeScaling: ropeScalingFromGGUF(source.metadata, architecture, source.origin),
    qkvBias: architecture === "qwen2" || hasBias("attn_q"),
    outputBias: hasBias("attn_output"),
    mlpBias: hasBias("ffn_up"),
    qkNorm: architecture === "qwen3",
    layerTypes: Array<AttentionLayerType>(numLayers).fill("full_attention"),
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

export interface LlamaNames {
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
  /** Per-head q/k norms (Qwen3). */
  qNorm(l: number): string;
  kNorm(l: number): string;
  ffnNorm(l: number): string;
  gate(l: number): string;
  up(l: number): string;
  down(l: number): string;
}

export const HF_NAMES: LlamaNames = {
  tokenEmbd: "model.embed_tokens", outputNorm: "model.norm", output: "lm_head",
  attnNorm: (l) => `model.layers.${l}.input_layernorm`,
  q: (l) => `model.layers.${l}.self_attn.q_proj`,
  k: (l) => `model.layers.${l}.self_attn.k_proj`,
  v: (l) => `model.layers.${l}.self_attn.v_proj`,
  o: (l) => `model.layers.${l}.self_attn.o_proj`,
  qNorm: (l) => `model.layers.${l}.self_attn.q_norm`,
  kNorm: (l) => `model.layers.${l}.self_attn.k_norm`,
  ffnNorm: (l) => `model.layers.${l}.post_attention_layernorm`,
  gate: (l) => `model.layers.${l}.mlp.gate_proj`,
  up: (l) => `model.layers.${l}.mlp.up_proj`,
  down: (l) => `model.layers.${l}.mlp.down_proj`,
};

export const GGUF_NAMES: LlamaNames = {
  tokenEmbd: "token_embd", outputNorm: "output_norm", output: "output", ropeFreqs: "rope_freqs",
  attnNorm: (l) => `blk.${l}.attn_norm`,
  q: (l) => `blk.${l}.attn_q`,
  k: (l) => `blk.${l}.attn_k`,
  v: (l) => `blk.${l}.attn_v`,
  o: (l) => `blk.${l}.attn_output`,
  qNorm: (l) => `blk.${l}.attn_q_norm`,
  kNorm: (l) => `blk.${l}.attn_k_norm`,
  ffnNorm: (l) => `blk.${l}.ffn_norm`,
  gate: (l) => `blk.${l}.ffn_gate`,
  up: (l) => `blk.${l}.ffn_up`,
  down: (l) => `blk.${l}.ffn_down`,
};

// ---------------------------------------------------------------------------------------------
// Model

export function buildLlama(config: LlamaConfig, source: WeightSource, layout: "hf" | "gguf", weights: WeightOptions = {}): CausalLM {
  const names = layout === "hf" ? HF_NAMES : GGUF_NAMES;
  const w = new TensorLoader(source, weights);
  const c = config;
  const d = c.hiddenSize, ff = c.intermediateSize, hd = c.headDim;
  const qDim = c.numHeads * hd, kvDim = c.numKVHeads * hd;
  const rmsNorm = (base: string, dim = d) => new RMSNorm(w.vector(`${base}.weight`, dim), c.rmsNormEps, w.ops);
  // llama3 scaling in GGUF arrives as precomputed per-frequency divisors.
  const freqFactors = names.ropeFreqs && w.has(`${names.ropeFreqs}.weight`)
    ? tensorToFloat32(w.tensor(`${names.ropeFreqs}.weight`, [c.ropeDim / 2])) : undefined;
  const rope = new RotaryEmbedding({
    rotDim: c.ropeDim, headDim: hd, base: c.ropeTheta, scaling: c.ropeScaling, style: c.ropeStyle, freqFactors,
  });

  const embedding = new Embedding(w.matrix(`${names.tokenEmbd}.weight`, c.vocabSize, d));
  const blocks: DecoderBlock[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    blocks.push({
      attnNorm: rmsNorm(names.attnNorm(l)),
      attn: new SelfAttention(
        { nHeads: c.numHeads, nKVHeads: c.numKVHeads, headDim: hd },
        {
          kind: "separate",
          q: w.linear(names.q(l), qDim, d, c.qkvBias),
          k: w.linear(names.k(l), kvDim, d, c.qkvBias),
          v: w.linear(names.v(l), kvDim, d, c.qkvBias),
        },
        w.linear(names.o(l), d, qDim, c.outputBias),
        rope,
        c.qkNorm ? { q: rmsNorm(names.qNorm(l), hd), k: rmsNorm(names.kNorm(l), hd) } : undefined,
      ),
      ffnNorm: rmsNorm(names.ffnNorm(l)),
      mlp: new SwiGLUMLP(
        w.linear(names.gate(l), ff, d, c.mlpBias),
        w.linear(names.up(l), ff, d, c.mlpBias),
        w.linear(names.down(l), d, ff, c.mlpBias),
        w.ops,
      ),
    });
  }
  const outputNorm = rmsNorm(names.outputNorm);
  // No separate head in the file means the head is tied to the embedding.
  const head = w.has(`${names.output}.weight`) ? w.matrix(`${names.output}.weight`, c.vocabSize, d) : embedding.table;
  return new DecoderModel(config, { embedding, blocks, outputNorm, head, ropes: [rope], ops: w.ops });
}
