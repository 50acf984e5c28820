import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeGGUF } from "../weights/gguf-write.js";
import { writeSafetensors } from "../weights/safetensors-write.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import type { TensorToWrite } from "../weights/encode.js";
import { headDim, paramTable, type TrainModelConfig } from "./config.js";
import type { Floats } from "./floats.js";
import type { BpeVocab } from "./bpe.js";
import { tokenizerJson } from "./tokenizer-json.js";

export const EOS_TOKEN = "<|endoftext|>";

export interface ExportInput {
  config: TrainModelConfig;
  /** Flat parameters in paramTable(config) order. */
  params: Floats;
  vocab: BpeVocab;
  name: string;
}

function tensorsOf(input: ExportInput): { name: string; shape: number[]; data: Float32Array }[] {
  return paramTable(input.config).map((e) => ({
    name: e.name,
    shape: e.shape,
    data: Float32Array.from(input.params.subarray(e.offset, e.offset + e.size)),
  }));
}

function eosId(vocab: BpeVocab): number {
  const id = vocab.specials.get(EOS_TOKEN);
  return id ?? vocab.tokens.length - 1;
}

/** config.json of a Hugging Face LlamaForCausalLM with tied embeddings. */
export function hfConfig(config: TrainModelConfig, eos: number, dtype: "f16" | "f32"): object {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: config.vocabSize,
    hidden_size: config.dim,
    intermediate_size: config.hiddenDim,
    num_hidden_layers: config.nLayers,
    num_attention_heads: config.nHeads,
    num_key_value_heads: config.nKVHeads,
    head_dim: headDim(config),
    hidden_act: "silu",
    max_position_embeddings: config.maxSeqLen,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeTheta,
    rope_scaling: null,
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    tie_word_embeddings: true,
    bos_token_id: eos,
    eos_token_id: eos,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
    torch_dtype: dtype === "f16" ? "float16" : "float32",
  };
}

/**
 * Writes a Hugging Face folder: config.json, model.safetensors (no lm_head: it is tied),
 * tokenizer.json, tokenizer_config.json and generation_config.json.
 */
export function exportHF(dir: string, input: ExportInput, dtype: "f16" | "f32" = "f16"): void {
  mkdirSync(dir, { recursive: true });
  const eos = eosId(input.vocab);
  const json = (name: string, value: object): void => writeFileSync(join(dir, name), JSON.stringify(value, null, 2) + "\n");
  json("config.json", hfConfig(input.config, eos, dtype));
  json("generation_config.json", { bos_token_id: eos, eos_token_id: eos, do_sample: true, temperature: 0.8, top_k: 40 });
  json("tokenizer.json", tokenizerJson(input.vocab));
  json("tokenizer_config.json", {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: EOS_TOKEN,
    eos_token: EOS_TOKEN,
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: input.config.maxSeqLen,
    added_tokens_decoder: Object.fromEntries([...input.vocab.specials].map(([content, id]) => [
      String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ])),
  });
  const tensors: TensorToWrite[] = tensorsOf(input).map((t) => ({ ...t, dtype }));
  writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt", source: `loom train (${input.name})` });
}

/**
 * llama.cpp rotates adjacent pairs (x[2i], x[2i+1]) while HF Llama rotates halves (x[i], x[i+d/2]),
 * so its converter reorders the rows of each Q and K head: new row 2i+j = old row j·d/2 + i.
 */
export function permuteForAdjacentRope(w: Float32Array, nHeads: number, rows: number, cols: number): Float32Array {
  const hd = rows / nHeads;
  const half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + j * half + i) * cols;
        const dst = (h * hd + 2 * i + j) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

const GGUF_NAMES: [RegExp, string][] = [
  [/^model\.embed_tokens\.weight$/, "token_embd.weight"],
  [/^model\.norm\.weight$/, "output_norm.weight"],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, "blk.$1.attn_norm.weight"],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj\.weight$/, "blk.$1.attn_q.weight"],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj\.weight$/, "blk.$1.attn_k.weight"],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj\.weight$/, "blk.$1.attn_v.weight"],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, "blk.$1.attn_output.weight"],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, "blk.$1.ffn_norm.weight"],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, "blk.$1.ffn_gate.weight"],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, "blk.$1.ffn_up.weight"],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, "blk.$1.ffn_down.weight"],
];

export function ggufTensorName(hfName: string): string {
  for (const [pattern, replacement] of GGUF_NAMES) if (pattern.test(hfName)) return hfName.replace(pattern, replacement);
  throw new Error(`no GGUF name for ${hfName}`);
}

/**
 * Writes a llama.cpp GGUF (arch "llama", tokenizer "gpt2"): Q/K rows permuted for adjacent-pair
 * RoPE, norms kept f32, no output.weight (llama.cpp then reuses token_embd, i.e. tied).
 */
export function exportGGUF(path: string, input: ExportInput, dtype: "f16" | "f32" = "f32"): void {
  const c = input.config;
  const eos = eosId(input.vocab);
  const vocab = input.vocab;
  const specialIds = new Set(vocab.specials.values());
  const metadata: GGUFMetaEntry[] = [
    { key: "general.architecture", type: "string", value: "llama" },
    { key: "general.name", type: "string", value: input.name },
    { key: "general.file_type", type: "uint32", value: dtype === "f16" ? 1 : 0 },
    { key: "llama.vocab_size", type: "uint32", value: c.vocabSize },
    { key: "llama.context_length", type: "uint32", value: c.maxSeqLen },
    { key: "llama.embedding_length", type: "uint32", value: c.dim },
    { key: "llama.block_count", type: "uint32", value: c.nLayers },
    { key: "llama.feed_forward_length", type: "uint32", value: c.hiddenDim },
    { key: "llama.attention.head_count", type: "uint32", value: c.nHeads },
    { key: "llama.attention.head_count_kv", type: "uint32", value: c.nKVHeads },
    { key: "llama.rope.dimension_count", type: "uint32", value: headDim(c) },
    { key: "llama.rope.freq_base", type: "float32", value: c.ropeTheta },
    { key: "llama.attention.layer_norm_rms_epsilon", type: "float32", value: c.normEps },
    { key: "tokenizer.ggml.model", type: "string", value: "gpt2" },
    { key: "tokenizer.ggml.pre", type: "string", value: "gpt-2" },
    { key: "tokenizer.ggml.tokens", type: { array: "string" }, value: vocab.tokens },
    { key: "tokenizer.ggml.token_type", type: { array: "int32" }, value: vocab.tokens.map((_, id) => (specialIds.has(id) ? 3 : 1)) },
    { key: "tokenizer.ggml.merges", type: { array: "string" }, value: vocab.merges.map(([a, b]) => `${a} ${b}`) },
    { key: "tokenizer.ggml.bos_token_id", type: "uint32", value: eos },
    { key: "tokenizer.ggml.eos_token_id", type: "uint32", value: eos },
    { key: "tokenizer.ggml.add_bos_token", type: "bool", value: false },
    { key: "tokenizer.ggml.add_eos_token", type: "bool", value: false },
  ];
  const hd = headDim(c);
  const tensors: TensorToWrite[] = tensorsOf(input).map((t) => {
    let data = t.data;
    if (t.name.endsWith("q_proj.weight")) data = permuteForAdjacentRope(data, c.nHeads, c.nHeads * hd, c.dim);
    if (t.name.endsWith("k_proj.weight")) data = permuteForAdjacentRope(data, c.nKVHeads, c.nKVHeads * hd, c.dim);
    return { name: ggufTensorName(t.name), shape: t.shape, data, dtype: t.shape.length === 1 ? "f32" : dtype };
  });
  writeGGUF(path, { metadata, tensors });
}
