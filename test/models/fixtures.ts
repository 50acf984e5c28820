/**
 * Tiny seeded random checkpoints for model tests, in HF layout, plus converters to the GGUF layout
 * that follow llama.cpp's convert_hf_to_gguf.py: GPT-2 Conv1D weights transposed to (out, in),
 * and for the `llama` architecture Q/K rows permuted per head for adjacent-pair RoPE.
 */
import { permutedForAdjacentRope, transposed } from "../../src/convert/layout.js";
import type { TensorToWrite } from "../../src/weights/encode.js";
import type { GGUFMetaEntry } from "../../src/weights/gguf-format.js";
import type { MetaValue, WeightSource } from "../../src/weights/source.js";
import { tensorTable } from "../../src/weights/table.js";
import type { DType, RawTensor } from "../../src/tensor/tensor.js";
import { randomArray, rng } from "../kernels/random.js";

export interface Tensor {
  shape: number[];
  data: Float32Array;
}
export type Tensors = Map<string, Tensor>;

export interface TinyGPT2 {
  vocab: number; nEmbd: number; nLayers: number; nHeads: number; nFF: number; nPositions: number; eps: number;
}

export interface TinyLlama {
  arch: "llama" | "qwen2" | "mistral";
  vocab: number; nEmbd: number; nLayers: number; nHeads: number; nKVHeads: number; nFF: number;
  maxPositions: number; eps: number; theta: number;
  qkvBias: boolean;
  tied: boolean;
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
}

export const GPT2_SPEC: TinyGPT2 = { vocab: 61, nEmbd: 32, nLayers: 2, nHeads: 4, nFF: 128, nPositions: 48, eps: 1e-5 };
export const LLAMA_SPEC: TinyLlama = {
  arch: "llama", vocab: 67, nEmbd: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, nFF: 56,
  maxPositions: 64, eps: 1e-5, theta: 10000, qkvBias: false, tied: false,
};
export const QWEN2_SPEC: TinyLlama = {
  arch: "qwen2", vocab: 59, nEmbd: 24, nLayers: 2, nHeads: 3, nKVHeads: 1, nFF: 40,
  maxPositions: 64, eps: 1e-6, theta: 1000000, qkvBias: true, tied: true,
};

function tensors(seed: number) {
  const random = rng(seed);
  const map: Tensors = new Map();
  return {
    map,
    /** A random tensor; `around` shifts it (norm weights hover around 1). */
    add(name: string, shape: number[], scale: number, around = 0) {
      const data = randomArray(random, shape.reduce((a, b) => a * b, 1), scale);
      if (around) for (let i = 0; i < data.length; i++) data[i] += around;
      map.set(name, { shape, data });
    },
  };
}

/** HF GPT2LMHeadModel layout: `transformer.` prefix, Conv1D weights (in, out), no lm_head (tied). */
export function randomGPT2(s: TinyGPT2, seed: number): Tensors {
  const t = tensors(seed);
  const d = s.nEmbd;
  t.add("transformer.wte.weight", [s.vocab, d], 0.5);
  t.add("transformer.wpe.weight", [s.nPositions, d], 0.2);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `transformer.h.${l}`;
    t.add(`${p}.ln_1.weight`, [d], 0.1, 1);
    t.add(`${p}.ln_1.bias`, [d], 0.1);
    t.add(`${p}.attn.c_attn.weight`, [d, 3 * d], 0.3);
    t.add(`${p}.attn.c_attn.bias`, [3 * d], 0.1);
    t.add(`${p}.attn.c_proj.weight`, [d, d], 0.2);
    t.add(`${p}.attn.c_proj.bias`, [d], 0.05);
    t.add(`${p}.ln_2.weight`, [d], 0.1, 1);
    t.add(`${p}.ln_2.bias`, [d], 0.1);
    t.add(`${p}.mlp.c_fc.weight`, [d, s.nFF], 0.3);
    t.add(`${p}.mlp.c_fc.bias`, [s.nFF], 0.1);
    t.add(`${p}.mlp.c_proj.weight`, [s.nFF, d], 0.15);
    t.add(`${p}.mlp.c_proj.bias`, [d], 0.05);
  }
  t.add("transformer.ln_f.weight", [d], 0.1, 1);
  t.add("transformer.ln_f.bias", [d], 0.1);
  return t.map;
}

/** (rows, cols) → (cols, rows), with the converter's own transpose. */
export function transpose(x: Tensor): Tensor {
  const [rows, cols] = x.shape;
  return { shape: [cols, rows], data: transposed(x.data, rows, cols) };
}

/** GGUF `gpt2` names; Conv1D matrices transposed to (out, in) as llama.cpp's converter does. */
export function gpt2ToGGUF(hf: Tensors, s: TinyGPT2): Tensors {
  const out: Tensors = new Map();
  const get = (name: string) => hf.get(`transformer.${name}`)!;
  out.set("token_embd.weight", get("wte.weight"));
  out.set("position_embd.weight", get("wpe.weight"));
  for (let l = 0; l < s.nLayers; l++) {
    const pairs: [string, string, boolean][] = [
      ["ln_1", "attn_norm", false], ["attn.c_attn", "attn_qkv", true], ["attn.c_proj", "attn_output", true],
      ["ln_2", "ffn_norm", false], ["mlp.c_fc", "ffn_up", true], ["mlp.c_proj", "ffn_down", true],
    ];
    for (const [hfName, ggufName, isConv] of pairs) {
      const w = get(`h.${l}.${hfName}.weight`);
      out.set(`blk.${l}.${ggufName}.weight`, isConv ? transpose(w) : w);
      out.set(`blk.${l}.${ggufName}.bias`, get(`h.${l}.${hfName}.bias`));
    }
  }
  out.set("output_norm.weight", get("ln_f.weight"));
  out.set("output_norm.bias", get("ln_f.bias"));
  return out;
}

export function gpt2HFConfig(s: TinyGPT2): Record<string, unknown> {
  return {
    model_type: "gpt2", architectures: ["GPT2LMHeadModel"], vocab_size: s.vocab, n_embd: s.nEmbd,
    n_layer: s.nLayers, n_head: s.nHeads, n_inner: s.nFF, n_positions: s.nPositions, n_ctx: s.nPositions,
    layer_norm_epsilon: s.eps, activation_function: "gelu_new", bos_token_id: 0, eos_token_id: 0,
  };
}

export function gpt2GGUFMetadata(s: TinyGPT2): GGUFMetaEntry[] {
  return [
    { key: "general.architecture", type: "string", value: "gpt2" },
    { key: "gpt2.context_length", type: "uint32", value: s.nPositions },
    { key: "gpt2.embedding_length", type: "uint32", value: s.nEmbd },
    { key: "gpt2.feed_forward_length", type: "uint32", value: s.nFF },
    { key: "gpt2.block_count", type: "uint32", value: s.nLayers },
    { key: "gpt2.attention.head_count", type: "uint32", value: s.nHeads },
    { key: "gpt2.attention.layer_norm_epsilon", type: "float32", value: s.eps },
  ];
}

/** HF Llama/Qwen2 layout; lm_head only when untied. */
export function randomLlama(s: TinyLlama, seed: number): Tensors {
  const t = tensors(seed);
  const d = s.nEmbd, headDim = s.nEmbd / s.nHeads;
  const qDim = s.nHeads * headDim, kvDim = s.nKVHeads * headDim;
  t.add("model.embed_tokens.weight", [s.vocab, d], 0.8);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `model.layers.${l}`;
    t.add(`${p}.input_layernorm.weight`, [d], 0.1, 1);
    t.add(`${p}.self_attn.q_proj.weight`, [qDim, d], 0.4);
    t.add(`${p}.self_attn.k_proj.weight`, [kvDim, d], 0.4);
    t.add(`${p}.self_attn.v_proj.weight`, [kvDim, d], 0.3);
    if (s.qkvBias) {
      t.add(`${p}.self_attn.q_proj.bias`, [qDim], 0.2);
      t.add(`${p}.self_attn.k_proj.bias`, [kvDim], 0.2);
      t.add(`${p}.self_attn.v_proj.bias`, [kvDim], 0.1);
    }
    t.add(`${p}.self_attn.o_proj.weight`, [d, qDim], 0.2);
    t.add(`${p}.post_attention_layernorm.weight`, [d], 0.1, 1);
    t.add(`${p}.mlp.gate_proj.weight`, [s.nFF, d], 0.3);
    t.add(`${p}.mlp.up_proj.weight`, [s.nFF, d], 0.3);
    t.add(`${p}.mlp.down_proj.weight`, [d, s.nFF], 0.2);
  }
  t.add("model.norm.weight", [d], 0.1, 1);
  if (!s.tied) t.add("lm_head.weight", [s.vocab, d], 0.3);
  return t.map;
}

/**
 * llama.cpp's `permute` (rotate-half partners become adjacent rows), with the converter's own
 * implementation. Works on biases too.
 */
export function permuteForAdjacentRope(x: Tensor, nHeads: number): Tensor {
  const cols = x.shape.length > 1 ? x.shape[1] : 1;
  return { shape: x.shape, data: permutedForAdjacentRope(x.data, nHeads, cols) };
}

/** GGUF names; Q/K permuted for the `llama` architecture only (qwen2 keeps NEOX order). */
export function llamaToGGUF(hf: Tensors, s: TinyLlama): Tensors {
  const out: Tensors = new Map();
  const permute = s.arch === "llama";
  out.set("token_embd.weight", hf.get("model.embed_tokens.weight")!);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `model.layers.${l}`;
    const pairs: [string, string][] = [
      ["input_layernorm", "attn_norm"], ["self_attn.q_proj", "attn_q"], ["self_attn.k_proj", "attn_k"],
      ["self_attn.v_proj", "attn_v"], ["self_attn.o_proj", "attn_output"], ["post_attention_layernorm", "ffn_norm"],
      ["mlp.gate_proj", "ffn_gate"], ["mlp.up_proj", "ffn_up"], ["mlp.down_proj", "ffn_down"],
    ];
    for (const [hfName, ggufName] of pairs) {
      for (const suffix of ["weight", "bias"]) {
        const x = hf.get(`${p}.${hfName}.${suffix}`);
        if (!x) continue;
        const heads = ggufName === "attn_q" ? s.nHeads : ggufName === "attn_k" ? s.nKVHeads : 0;
        out.set(`blk.${l}.${ggufName}.${suffix}`, permute && heads ? permuteForAdjacentRope(x, heads) : x);
      }
    }
  }
  out.set("output_norm.weight", hf.get("model.norm.weight")!);
  const head = hf.get("lm_head.weight");
  if (head) out.set("output.weight", head);
  return out;
}

export function llamaHFConfig(s: TinyLlama): Record<string, unknown> {
  const classes = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", mistral: "MistralForCausalLM" };
  return {
    model_type: s.arch, architectures: [classes[s.arch]], vocab_size: s.vocab, hidden_size: s.nEmbd,
    num_hidden_layers: s.nLayers, num_attention_heads: s.nHeads, num_key_value_heads: s.nKVHeads,
    intermediate_size: s.nFF, max_position_embeddings: s.maxPositions, rms_norm_eps: s.eps,
    rope_theta: s.theta, hidden_act: "silu", tie_word_embeddings: s.tied, bos_token_id: 1, eos_token_id: 2,
    rope_scaling: s.llama3 ? {
      rope_type: "llama3", factor: s.llama3.factor, low_freq_factor: s.llama3.lowFreqFactor,
      high_freq_factor: s.llama3.highFreqFactor, original_max_position_embeddings: s.llama3.originalMaxPositions,
    } : null,
  };
}

export function llamaGGUFMetadata(s: TinyLlama): GGUFMetaEntry[] {
  const a = s.arch;
  return [
    { key: "general.architecture", type: "string", value: a },
    { key: `${a}.context_length`, type: "uint32", value: s.maxPositions },
    { key: `${a}.embedding_length`, type: "uint32", value: s.nEmbd },
    { key: `${a}.feed_forward_length`, type: "uint32", value: s.nFF },
    { key: `${a}.block_count`, type: "uint32", value: s.nLayers },
    { key: `${a}.attention.head_count`, type: "uint32", value: s.nHeads },
    { key: `${a}.attention.head_count_kv`, type: "uint32", value: s.nKVHeads },
    { key: `${a}.attention.layer_norm_rms_epsilon`, type: "float32", value: s.eps },
    { key: `${a}.rope.freq_base`, type: "float32", value: s.theta },
    { key: `${a}.rope.dimension_count`, type: "uint32", value: s.nEmbd / s.nHeads },
  ];
}

/** An in-memory WeightSource holding f32 tensors, as the readers would hand them out. */
export function memorySource(origin: string, t: Tensors, metadata: GGUFMetaEntry[] = []): WeightSource {
  const raw = new Map<string, RawTensor>();
  for (const [name, { shape, data }] of t) {
    raw.set(name, { name, dtype: "f32", shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  const meta = new Map<string, MetaValue>(metadata.map((e) => [e.key, e.value]));
  return tensorTable(origin, meta, raw);
}

/** The tensors as the writers take them. */
export function toWrite(t: Tensors, dtype: DType = "f32"): TensorToWrite[] {
  return [...t].map(([name, { shape, data }]) => ({ name, shape, data, dtype: shape.length === 1 ? "f32" : dtype }));
}
