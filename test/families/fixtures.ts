/**
 * Tiny seeded random checkpoints for the model families of issue 7 (Gemma 3, Qwen3, Mistral with a
 * window, Llama with each RoPE scaling), in HF layout, with their GGUF twins written the way
 * llama.cpp's converter writes them: Gemma norms stored as w + 1, `llama` Q/K rows permuted for
 * adjacent-pair RoPE, llama3 scaling as a `rope_freqs` tensor, and the `{arch}.*` keys llama.cpp reads.
 */
import type { GGUFMetaEntry } from "../../src/weights/gguf-format.js";
import { randomArray, rng } from "../kernels/random.js";
import { permuteForAdjacentRope, type Tensors } from "../models/fixtures.js";

export type Family = "gemma3" | "qwen3" | "mistral" | "llama";
export type LayerType = "full_attention" | "sliding_attention";

export interface Spec {
  family: Family;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Explicit head size (Qwen3 and Gemma 3 do not tie it to hidden/heads). */
  headDim: number;
  ff: number;
  maxPositions: number;
  eps: number;
  theta: number;
  /** Sliding window of the sliding layers. */
  window?: number;
  /** Explicit layer kinds (written as HF `layer_types`); otherwise the family's rule. */
  layerTypes?: LayerType[];
  /** Gemma 3's sliding_window_pattern (HF default 6). */
  pattern?: number;
  localTheta?: number;
  queryPreAttnScalar?: number;
  attnSoftCap?: number;
  finalSoftCap?: number;
  /** HF `rope_scaling` object. */
  ropeScaling?: Record<string, unknown>;
  tied: boolean;
}

/** The layer kinds HF derives for a spec — written out here, independently of src/models/layer-types.ts. */
export function layerTypesOf(s: Spec): LayerType[] {
  if (s.layerTypes) return s.layerTypes;
  const kinds: LayerType[] = [];
  for (let l = 0; l < s.layers; l++) {
    if (s.family === "gemma3") kinds.push((l + 1) % (s.pattern ?? 6) === 0 ? "full_attention" : "sliding_attention");
    else if (s.family === "mistral" && s.window !== undefined) kinds.push("sliding_attention");
    else kinds.push("full_attention");
  }
  return kinds;
}

export function randomWeights(s: Spec, seed: number): Tensors {
  const random = rng(seed);
  const map: Tensors = new Map();
  const add = (name: string, shape: number[], scale: number, around = 0) => {
    const data = randomArray(random, shape.reduce((a, b) => a * b, 1), scale);
    if (around) for (let i = 0; i < data.length; i++) data[i] += around;
    map.set(name, { shape, data });
  };
  const d = s.hidden, hd = s.headDim, qDim = s.heads * hd, kvDim = s.kvHeads * hd;
  // Gemma norms multiply by (1 + w): weights near 0; the others near 1.
  const normAround = s.family === "gemma3" ? 0 : 1;
  add("model.embed_tokens.weight", [s.vocab, d], s.family === "gemma3" ? 0.5 : 0.8);
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [d], 0.1, normAround);
    add(`${p}.self_attn.q_proj.weight`, [qDim, d], 0.4);
    add(`${p}.self_attn.k_proj.weight`, [kvDim, d], 0.4);
    add(`${p}.self_attn.v_proj.weight`, [kvDim, d], 0.3);
    add(`${p}.self_attn.o_proj.weight`, [d, qDim], 0.2);
    if (s.family === "gemma3" || s.family === "qwen3") {
      add(`${p}.self_attn.q_norm.weight`, [hd], 0.3, normAround);
      add(`${p}.self_attn.k_norm.weight`, [hd], 0.3, normAround);
    }
    add(`${p}.post_attention_layernorm.weight`, [d], 0.1, normAround);
    if (s.family === "gemma3") {
      add(`${p}.pre_feedforward_layernorm.weight`, [d], 0.1, normAround);
      add(`${p}.post_feedforward_layernorm.weight`, [d], 0.1, normAround);
    }
    add(`${p}.mlp.gate_proj.weight`, [s.ff, d], 0.3);
    add(`${p}.mlp.up_proj.weight`, [s.ff, d], 0.3);
    add(`${p}.mlp.down_proj.weight`, [d, s.ff], 0.2);
  }
  add("model.norm.weight", [d], 0.1, normAround);
  if (!s.tied) add("lm_head.weight", [s.vocab, d], 0.3);
  return map;
}

const HF_CLASSES: Record<Family, [string, string]> = {
  gemma3: ["gemma3_text", "Gemma3ForCausalLM"],
  qwen3: ["qwen3", "Qwen3ForCausalLM"],
  mistral: ["mistral", "MistralForCausalLM"],
  llama: ["llama", "LlamaForCausalLM"],
};

export function hfConfig(s: Spec): Record<string, unknown> {
  const [modelType, cls] = HF_CLASSES[s.family];
  const config: Record<string, unknown> = {
    model_type: modelType, architectures: [cls], vocab_size: s.vocab, hidden_size: s.hidden,
    num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, head_dim: s.headDim,
    intermediate_size: s.ff, max_position_embeddings: s.maxPositions, rms_norm_eps: s.eps, rope_theta: s.theta,
    tie_word_embeddings: s.tied, bos_token_id: 1, eos_token_id: 2, rope_scaling: s.ropeScaling ?? null,
  };
  if (s.family === "gemma3") {
    Object.assign(config, {
      hidden_activation: "gelu_pytorch_tanh", sliding_window: s.window ?? null, rope_local_base_freq: s.localTheta ?? 10000,
      query_pre_attn_scalar: s.queryPreAttnScalar ?? s.headDim, sliding_window_pattern: s.pattern ?? 6,
      attn_logit_softcapping: s.attnSoftCap ?? null, final_logit_softcapping: s.finalSoftCap ?? null,
    });
  } else {
    config.hidden_act = "silu";
    config.sliding_window = s.window ?? null;
    if (s.family === "qwen3") config.use_sliding_window = s.window !== undefined;
  }
  if (s.layerTypes) config.layer_types = s.layerTypes;
  return config;
}

const GGUF_ARCH: Record<Family, string> = { gemma3: "gemma3", qwen3: "qwen3", mistral: "llama", llama: "llama" };

/** GGUF tensor names and layouts, as convert_hf_to_gguf.py writes them. */
export function toGGUFTensors(s: Spec, hf: Tensors): Tensors {
  const out: Tensors = new Map();
  const arch = GGUF_ARCH[s.family];
  const plusOne = (x: { shape: number[]; data: Float32Array }) => ({ shape: x.shape, data: x.data.map((v) => v + 1) });
  const pairs: [string, string][] = [
    ["input_layernorm", "attn_norm"], ["self_attn.q_proj", "attn_q"], ["self_attn.k_proj", "attn_k"],
    ["self_attn.v_proj", "attn_v"], ["self_attn.o_proj", "attn_output"], ["self_attn.q_norm", "attn_q_norm"],
    ["self_attn.k_norm", "attn_k_norm"],
    ["post_attention_layernorm", s.family === "gemma3" ? "post_attention_norm" : "ffn_norm"],
    ["pre_feedforward_layernorm", "ffn_norm"], ["post_feedforward_layernorm", "post_ffw_norm"],
    ["mlp.gate_proj", "ffn_gate"], ["mlp.up_proj", "ffn_up"], ["mlp.down_proj", "ffn_down"],
  ];
  out.set("token_embd.weight", hf.get("model.embed_tokens.weight")!);
  for (let l = 0; l < s.layers; l++) {
    for (const [hfName, ggufName] of pairs) {
      const x = hf.get(`model.layers.${l}.${hfName}.weight`);
      if (!x) continue;
      let y = x;
      if (s.family === "gemma3" && hfName.endsWith("norm")) y = plusOne(x);
      if (arch === "llama" && (ggufName === "attn_q" || ggufName === "attn_k")) {
        y = permuteForAdjacentRope(x, ggufName === "attn_q" ? s.heads : s.kvHeads);
      }
      out.set(`blk.${l}.${ggufName}.weight`, y);
    }
  }
  const norm = hf.get("model.norm.weight")!;
  out.set("output_norm.weight", s.family === "gemma3" ? plusOne(norm) : norm);
  const head = hf.get("lm_head.weight");
  if (head) out.set("output.weight", head);
  return out;
}

/** The `{arch}.*` hyperparameter keys (no tokenizer). */
export function ggufMetadata(s: Spec): GGUFMetaEntry[] {
  const arch = GGUF_ARCH[s.family];
  const u32 = (k: string, value: number): GGUFMetaEntry => ({ key: `${arch}.${k}`, type: "uint32", value });
  const f32 = (k: string, value: number): GGUFMetaEntry => ({ key: `${arch}.${k}`, type: "float32", value });
  const str = (k: string, value: string): GGUFMetaEntry => ({ key: `${arch}.${k}`, type: "string", value });
  const entries: GGUFMetaEntry[] = [
    { key: "general.architecture", type: "string", value: arch },
    u32("context_length", s.maxPositions), u32("embedding_length", s.hidden), u32("feed_forward_length", s.ff),
    u32("block_count", s.layers), u32("attention.head_count", s.heads), u32("attention.head_count_kv", s.kvHeads),
    u32("attention.key_length", s.headDim), u32("attention.value_length", s.headDim),
    f32("attention.layer_norm_rms_epsilon", s.eps), f32("rope.freq_base", s.theta),
  ];
  if (arch === "llama") entries.push(u32("rope.dimension_count", s.headDim));
  if (s.family === "gemma3") {
    if (s.window !== undefined) entries.push(u32("attention.sliding_window", s.window));
    // llama.cpp's converter never writes the pattern (llama.cpp then assumes 6); it does read one.
    if (s.pattern !== undefined && s.pattern !== 6) entries.push(u32("attention.sliding_window_pattern", s.pattern));
    if (s.localTheta !== undefined) entries.push(f32("rope.freq_base_swa", s.localTheta));
    if (s.finalSoftCap !== undefined) entries.push(f32("final_logit_softcapping", s.finalSoftCap));
  }
  const r = s.ropeScaling;
  if (r?.rope_type === "linear") entries.push(str("rope.scaling.type", "linear"), f32("rope.scaling.factor", r.factor as number));
  if (r?.rope_type === "yarn") {
    entries.push(str("rope.scaling.type", "yarn"), f32("rope.scaling.factor", r.factor as number),
      u32("rope.scaling.original_context_length", r.original_max_position_embeddings as number));
  }
  return entries;
}

/**
 * A vocabulary llama.cpp accepts (SentencePiece style: <unk>, <s>, </s>, the 256 byte tokens, then
 * plain pieces), for files whose token ids the tests feed directly.
 */
export function syntheticVocabMetadata(vocab: number): GGUFMetaEntry[] {
  if (vocab < 3 + 256) throw new Error(`a llama.cpp vocabulary needs at least 259 tokens, got ${vocab}`);
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [2, 3, 3]; // UNKNOWN, CONTROL, CONTROL
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6); // BYTE
  }
  for (let i = tokens.length; i < vocab; i++) {
    tokens.push(`\u2581w${i}`);
    types.push(1); // NORMAL
  }
  return [
    { key: "tokenizer.ggml.model", type: "string", value: "llama" },
    { key: "tokenizer.ggml.tokens", type: { array: "string" }, value: tokens },
    { key: "tokenizer.ggml.scores", type: { array: "float32" }, value: tokens.map((_, i) => -i) },
    { key: "tokenizer.ggml.token_type", type: { array: "int32" }, value: types },
    { key: "tokenizer.ggml.bos_token_id", type: "uint32", value: 1 },
    { key: "tokenizer.ggml.eos_token_id", type: "uint32", value: 2 },
    { key: "tokenizer.ggml.unknown_token_id", type: "uint32", value: 0 },
    { key: "tokenizer.ggml.add_bos_token", type: "bool", value: false },
  ];
}
