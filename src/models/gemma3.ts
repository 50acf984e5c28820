/**
 * Gemma 3 (text): a Llama-like decoder with four norms per block, per-head q/k norms, GeGLU and
 * interleaved local (sliding-window) and global attention layers:
 *
 *   x = embed(tokens) · √nEmbd
 *   per layer:  x += postAttnNorm(o(attn(rope_l(qNorm(q(inputNorm(x)))), rope_l(kNorm(k(·))), v(·))))
 *               x += postFFNorm(down(gelu_tanh(gate(preFFNorm(x))) · up(preFFNorm(x))))
 *   logits = softcap(head(RMSNorm(x)))      (head tied to the embedding; softcap only if configured)
 *
 * Layer kinds: sliding layers attend to the last `sliding_window` positions and rotate with the
 * local base (rope_local_base_freq, 10000, never scaled); global layers see everything and rotate
 * with rope_theta and rope_scaling. HF gives the kinds as `layer_types` or `sliding_window_pattern`
 * (default 6: five local layers, then one global); GGUF as gemma3.attention.sliding_window_pattern,
 * which llama.cpp's converter does not write (default 6 as well).
 *
 * Norm weights: HF's Gemma3RMSNorm multiplies by (1 + w); llama.cpp's converter stores w + 1, so
 * GGUF norms are used as they are.
 *
 * Attention scale: HF uses query_pre_attn_scalar^−½. GGUF has no such key; llama.cpp uses
 * 1/√head_dim, except for the 62-layer (27B) model where it uses 1/√(nEmbd/nHeads) — which equals
 * HF's query_pre_attn_scalar for every released Gemma 3. Loom follows the HF config for HF
 * checkpoints (even when it differs from head_dim) and llama.cpp's rule for GGUF files.
 */
import { LoomError } from "../errors.js";
import { SelfAttention } from "../nn/attention.js";
import { Embedding } from "../nn/embedding.js";
import { GeGLUMLP } from "../nn/mlp.js";
import { RMSNorm } from "../nn/norms.js";
import { DecoderModel, type DecoderBlock } from "./decoder.js";
import { RotaryEmbedding } from "../nn/rope.js";
import { ropeScalingFromGGUF, ropeScalingFromHF, type RopeScaling } from "../nn/rope-scaling.js";
import type { WeightSource } from "../weights/source.js";
import { ConfigFields, firstId, type JsonObject } from "./fields.js";
import { layerTypesFromHF, patternLayerTypes, type AttentionLayerType } from "./layer-types.js";
import { ggufVocabSize, TensorLoader, type WeightOptions } from "./tensor-loader.js";
import type { CausalLM, ModelConfig } from "./types.js";

export interface Gemma3Config extends ModelConfig {
  architecture: "gemma3";
  rmsNormEps: number;
  /** RoPE bases of global and of sliding-window layers. */
  ropeTheta: number;
  ropeLocalTheta: number;
  /** Context extension of global layers; sliding layers get their own (none unless transformers 5 names one). */
  ropeScaling: RopeScaling;
  localRopeScaling: RopeScaling;
  slidingWindow?: number;
  layerTypes: AttentionLayerType[];
  /** Multiplies q·k before the softmax. */
  attentionScale: number;
  attnSoftCap?: number;
  finalSoftCap?: number;
  /** Norms multiply by (normOffset + w): 1 for HF (Gemma3RMSNorm), 0 for GGUF (stored as w + 1). */
  normOffset: 0 | 1;
  attentionBias: boolean;
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** From config.json: a Gemma3ForCausalLM (`gemma3_text`) or the text part of a multimodal `gemma3`. */
export function gemma3ConfigFromHF(json: JsonObject, origin: string): Gemma3Config {
  const text = isObject(json.text_config) ? json.text_config : json;
  const f = ConfigFields.fromJson(text, origin);
  const activation = f.string(["hidden_activation", "hidden_act"], "gelu_pytorch_tanh");
  if (activation !== "gelu_pytorch_tanh" && activation !== "gelu_new") {
    throw new LoomError(`${origin}: hidden_activation "${activation}" is not supported (gelu_pytorch_tanh)`);
  }
  const numLayers = f.int("num_hidden_layers", 26);
  const byPattern = patternLayerTypes(numLayers, f.int(["sliding_window_pattern", "_sliding_window_pattern"], 6));
  const layerTypes = layerTypesFromHF(text.layer_types, numLayers, origin, (l) => byPattern[l]);
  const slidingWindow = text.sliding_window === undefined ? 4096 : f.optionalInt("sliding_window");
  if (slidingWindow === undefined && layerTypes.includes("sliding_attention")) {
    throw new LoomError(`${origin}: sliding layers need a "sliding_window"`);
  }
  // transformers 5 keeps one rope object per layer type, each with its own rope_theta.
  const rope = (isObject(text.rope_parameters) ? text.rope_parameters : isObject(text.rope_scaling) ? text.rope_scaling : {}) as JsonObject;
  const perType = isObject(rope.full_attention) || isObject(rope.sliding_attention);
  const thetaOf = (layerType: string): number | undefined => {
    const params = rope[layerType];
    return isObject(params) && typeof params.rope_theta === "number" ? params.rope_theta : undefined;
  };
  return {
    architecture: "gemma3",
    vocabSize: f.int("vocab_size", 262208),
    hiddenSize: f.int("hidden_size", 2304),
    numLayers,
    numHeads: f.int("num_attention_heads", 8),
    numKVHeads: f.int("num_key_value_heads", 4),
    headDim: f.int("head_dim", 256),
    intermediateSize: f.int("intermediate_size", 9216),
    maxPositions: f.int("max_position_embeddings", 131072),
    rmsNormEps: f.number("rms_norm_eps", 1e-6),
    ropeTheta: thetaOf("full_attention") ?? f.number("rope_theta", 1_000_000),
    ropeLocalTheta: thetaOf("sliding_attention") ?? f.number("rope_local_base_freq", 10000),
    ropeScaling: ropeScalingFromHF(text, origin, "full_attention"),
    localRopeScaling: perType ? ropeScalingFromHF(text, origin, "sliding_attention") : { type: "none" },
    slidingWindow,
    layerTypes,
    attentionScale: 1 / Math.sqrt(f.number("query_pre_attn_scalar", 256)),
    attnSoftCap: f.optionalNumber("attn_logit_softcapping"),
    finalSoftCap: f.optionalNumber("final_logit_softcapping"),
    normOffset: 1,
    attentionBias: f.boolean("attention_bias", false),
    bosTokenId: firstId(f.ids("bos_token_id")) ?? 2,
    eosTokenId: f.ids("eos_token_id") ?? 1,
    padTokenId: firstId(f.ids("pad_token_id")) ?? 0,
  };
}

/** From GGUF `gemma3.*` metadata, with llama.cpp's defaults and attention scale. */
export function gemma3ConfigFromGGUF(source: WeightSource): Gemma3Config {
  const f = ConfigFields.fromMetadata(source.metadata, source.origin);
  const key = (k: string) => `gemma3.${k}`;
  const hiddenSize = f.int(key("embedding_length"));
  const numHeads = f.int(key("attention.head_count"));
  const numLayers = f.int(key("block_count"));
  const headDim = f.int(key("attention.key_length"), Math.floor(hiddenSize / numHeads));
  // No (or a zero) window: every layer is global, as llama.cpp reads it.
  const windowValue = f.number(key("attention.sliding_window"), 0);
  const slidingWindow = windowValue > 0 ? f.int(key("attention.sliding_window")) : undefined;
  const layerTypes = slidingWindow === undefined
    ? Array<AttentionLayerType>(numLayers).fill("full_attention")
    : ggufLayerTypes(source.metadata.get(key("attention.sliding_window_pattern")), numLayers, source.origin);
  const finalSoftCap = f.number(key("final_logit_softcapping"), 0);
  return {
    architecture: "gemma3",
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
    ropeLocalTheta: f.number(key("rope.freq_base_swa"), 10000),
    ropeScaling: ropeScalingFromGGUF(source.metadata, "gemma3", source.origin),
    localRopeScaling: { type: "none" },
    slidingWindow,
    layerTypes,
    attentionScale: 1 / Math.sqrt(numLayers === 62 ? hiddenSize / numHeads : headDim),
    finalSoftCap: finalSoftCap > 0 ? finalSoftCap : undefined,
    normOffset: 0,
    attentionBias: source.has("blk.0.attn_q.bias"),
    bosTokenId: firstId(f.ids("tokenizer.ggml.bos_token_id")),
    eosTokenId: f.ids("tokenizer.ggml.eos_token_id"),
    padTokenId: firstId(f.ids("tokenizer.ggml.padding_token_id")),
  };
}

/** llama.cpp's sliding_window_pattern: a period (default 6) or one flag per layer (true = sliding). */
function ggufLayerTypes(value: unknown, numLayers: number, origin: string): AttentionLayerType[] {
  if (value === undefined) return patternLayerTypes(numLayers, 6);
  const period = typeof value === "bigint" ? Number(value) : value;
  if (typeof period === "number" && Number.isInteger(period) && period >= 0) {
    // llama.cpp: period 0 makes every layer sliding.
    return period === 0 ? Array<AttentionLayerType>(numLayers).fill("sliding_attention") : patternLayerTypes(numLayers, period);
  }
  if (Array.isArray(value) && value.length === numLayers && value.every((v) => typeof v === "boolean")) {
    return value.map((sliding) => (sliding ? "sliding_attention" : "full_attention"));
  }
  throw new LoomError(`${origin}: "gemma3.attention.sliding_window_pattern" must be a period or one flag per layer`);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Weight names

export interface Gemma3Names {
  tokenEmbd: string;
  outputNorm: string;
  output: string;
  inputNorm(l: number): string;
  q(l: number): string;
  k(l: number): string;
  v(l: number): string;
  o(l: number): string;
  qNorm(l: number): string;
  kNorm(l: number): string;
  postAttnNorm(l: number): string;
  preFFNorm(l: number): string;
  postFFNorm(l: number): string;
  gate(l: number): string;
  up(l: number): string;
  down(l: number): string;
}

/**
 * HF names under `prefix`: "model." for Gemma3ForCausalLM; a multimodal checkpoint keeps the text
 * model under "language_model.model." (older transformers) or "model.language_model.".
 */
export function gemma3HFNames(prefix: string, head: string): Gemma3Names {
  const layer = (l: number, name: string) => `${prefix}layers.${l}.${name}`;
  return {
    tokenEmbd: `${prefix}embed_tokens`, outputNorm: `${prefix}norm`, output: head,
    inputNorm: (l) => layer(l, "input_layernorm"),
    q: (l) => layer(l, "self_attn.q_proj"),
    k: (l) => layer(l, "self_attn.k_proj"),
    v: (l) => layer(l, "self_attn.v_proj"),
    o: (l) => layer(l, "self_attn.o_proj"),
    qNorm: (l) => layer(l, "self_attn.q_norm"),
    kNorm: (l) => layer(l, "self_attn.k_norm"),
    postAttnNorm: (l) => layer(l, "post_attention_layernorm"),
    preFFNorm: (l) => layer(l, "pre_feedforward_layernorm"),
    postFFNorm: (l) => layer(l, "post_feedforward_layernorm"),
    gate: (l) => layer(l, "mlp.gate_proj"),
    up: (l) => layer(l, "mlp.up_proj"),
    down: (l) => layer(l, "mlp.down_proj"),
  };
}

/** The HF name table of whichever Gemma 3 layout `source` holds. */
export function gemma3HFNamesFor(source: WeightSource): Gemma3Names {
  for (const [prefix, head] of [["model.", "lm_head"], ["model.language_model.", "lm_head"], ["language_model.model.", "language_model.lm_head"]]) {
    if (source.has(`${prefix}embed_tokens.weight`)) return gemma3HFNames(prefix, head);
  }
  throw new LoomError(`${source.origin}: no Gemma 3 embedding found (model.embed_tokens.weight or a language_model's)`);
}

export const GEMMA3_GGUF_NAMES: Gemma3Names = {
  tokenEmbd: "token_embd", outputNorm: "output_norm", output: "output",
  inputNorm: (l) => `blk.${l}.attn_norm`,
  q: (l) => `blk.${l}.attn_q`,
  k: (l) => `blk.${l}.attn_k`,
  v: (l) => `blk.${l}.attn_v`,
  o: (l) => `blk.${l}.attn_output`,
  qNorm: (l) => `blk.${l}.attn_q_norm`,
  kNorm: (l) => `blk.${l}.attn_k_norm`,
  postAttnNorm: (l) => `blk.${l}.post_attention_norm`,
  preFFNorm: (l) => `blk.${l}.ffn_norm`,
  postFFNorm: (l) => `blk.${l}.post_ffw_norm`,
  gate: (l) => `blk.${l}.ffn_gate`,
  up: (l) => `blk.${l}.ffn_up`,
  down: (l) => `blk.${l}.ffn_down`,
};

// ---------------------------------------------------------------------------------------------
// Model

export function buildGemma3(config: Gemma3Config, source: WeightSource, layout: "hf" | "gguf", weights: WeightOptions = {}): CausalLM {
  const names = layout === "hf" ? gemma3HFNamesFor(source) : GEMMA3_GGUF_NAMES;
  const w = new TensorLoader(source, weights);
  const c = config;
  const d = c.hiddenSize, ff = c.intermediateSize, hd = c.headDim;
  const qDim = c.numHeads * hd, kvDim = c.numKVHeads * hd;
  const rmsNorm = (base: string, dim = d) => {
    const weight = w.vector(`${base}.weight`, dim);
    return new RMSNorm(c.normOffset === 0 ? weight : weight.map((x) => c.normOffset + x), c.rmsNormEps, w.ops);
  };
  const ropeOf = (base: number, scaling: RopeScaling) =>
    new RotaryEmbedding({ rotDim: hd, headDim: hd, base, scaling, style: "neox" });
  const globalRope = ropeOf(c.ropeTheta, c.ropeScaling);
  const localRope = ropeOf(c.ropeLocalTheta, c.localRopeScaling);

  const embedding = new Embedding(w.matrix(`${names.tokenEmbd}.weight`, c.vocabSize, d));
  const blocks: DecoderBlock[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const sliding = c.layerTypes[l] === "sliding_attention";
    blocks.push({
      attnNorm: rmsNorm(names.inputNorm(l)),
      attn: new SelfAttention(
        { nHeads: c.numHeads, nKVHeads: c.numKVHeads, headDim: hd, scale: c.attentionScale, softCap: c.attnSoftCap },
        {
          kind: "separate",
          q: w.linear(names.q(l), qDim, d, c.attentionBias),
          k: w.linear(names.k(l), kvDim, d, c.attentionBias),
          v: w.linear(names.v(l), kvDim, d, c.attentionBias),
        },
        w.linear(names.o(l), d, qDim, c.attentionBias),
        sliding ? localRope : globalRope,
        { q: rmsNorm(names.qNorm(l), hd), k: rmsNorm(names.kNorm(l), hd) },
      ),
      postAttnNorm: rmsNorm(names.postAttnNorm(l)),
      ffnNorm: rmsNorm(names.preFFNorm(l)),
      mlp: new GeGLUMLP(w.linear(names.gate(l), ff, d, false), w.linear(names.up(l), ff, d, false), w.linear(names.down(l), d, ff, false), w.ops),
      postFFNorm: rmsNorm(names.postFFNorm(l)),
    });
  }
  const outputNorm = rmsNorm(names.outputNorm);
  const head = w.has(`${names.output}.weight`) ? w.matrix(`${names.output}.weight`, c.vocabSize, d) : embedding.table;
  return new DecoderModel(config, {
    embedding, blocks, outputNorm, head, ropes: [globalRope, localRope], ops: w.ops,
    embedScale: Math.fround(Math.sqrt(c.hiddenSize)), // HF's embed_scale, llama.cpp's sqrtf
    finalSoftCap: c.finalSoftCap,
  });
}
