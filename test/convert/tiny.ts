/**
 * Tiny seeded HF folders for converter tests: a byte-level tokenizer (the 256 byte symbols and
 * <|endoftext|>) and a few-hundred-token model, so every conversion takes milliseconds.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gpt2TokenizerJson } from "../../src/tokenizers/index.js";
import { BYTE_TO_UNICODE } from "../../src/tokenizers/unicode.js";
import type { TensorToWrite } from "../../src/weights/encode.js";
import { writeSafetensors } from "../../src/weights/safetensors-write.js";
import { randomArray, rng } from "../kernels/random.js";

/** 257 tokens in the tokenizer; the model has 3 rows more, which the converter pads. */
export const TOKENIZER_SIZE = 257;
export const VOCAB = 260;
export const END_OF_TEXT = 256;

export type TinyArch = "gpt2" | "llama" | "mistral" | "qwen2";

export interface TinySpec {
  arch: TinyArch;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ff: number;
  context: number;
  /** Rows of the embedding (default VOCAB). */
  vocab?: number;
}

export const TINY: Record<TinyArch, TinySpec> = {
  gpt2: { arch: "gpt2", hidden: 64, layers: 1, heads: 4, kvHeads: 4, ff: 96, context: 48 },
  // ff = 72 is not a multiple of 32: ffn_down falls back to f16 in a q8_0 file.
  llama: { arch: "llama", hidden: 64, layers: 2, heads: 4, kvHeads: 2, ff: 72, context: 64 },
  mistral: { arch: "mistral", hidden: 64, layers: 1, heads: 4, kvHeads: 2, ff: 64, context: 64 },
  qwen2: { arch: "qwen2", hidden: 64, layers: 1, heads: 4, kvHeads: 1, ff: 96, context: 64 },
};

export function tinyTokenizerFiles(dir: string): void {
  const vocab: Record<string, number> = {};
  BYTE_TO_UNICODE.forEach((symbol, byte) => (vocab[symbol] = byte));
  vocab["<|endoftext|>"] = END_OF_TEXT;
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(gpt2TokenizerJson(vocab, [])));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ add_prefix_space: false, bos_token: "<|endoftext|>", eos_token: "<|endoftext|>" }));
}

export function tinyConfig(s: TinySpec): Record<string, unknown> {
  if (s.arch === "gpt2") {
    return {
      model_type: "gpt2", vocab_size: s.vocab ?? VOCAB, n_embd: s.hidden, n_layer: s.layers, n_head: s.heads, n_inner: s.ff,
      n_positions: s.context, n_ctx: s.context, layer_norm_epsilon: 1e-5, bos_token_id: END_OF_TEXT, eos_token_id: END_OF_TEXT,
    };
  }
  return {
    model_type: s.arch, vocab_size: s.vocab ?? VOCAB, hidden_size: s.hidden, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, intermediate_size: s.ff,
    max_position_embeddings: s.context, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: s.arch === "qwen2",
    bos_token_id: END_OF_TEXT, eos_token_id: END_OF_TEXT,
  };
}

/** HF tensors for the spec (GPT-2 with the `transformer.` prefix and Conv1D layout). */
export function tinyWeights(s: TinySpec, seed = 7): TensorToWrite[] {
  const random = rng(seed);
  const tensors: TensorToWrite[] = [];
  const add = (name: string, shape: number[], scale: number, around = 0) => {
    const data = randomArray(random, shape.reduce((a, b) => a * b, 1), scale);
    if (around) for (let i = 0; i < data.length; i++) data[i] += around;
    tensors.push({ name, shape, data, dtype: "f32" });
  };
  const d = s.hidden, headDim = d / s.heads, kv = s.kvHeads * headDim;
  const rows = s.vocab ?? VOCAB;
  if (s.arch === "gpt2") {
    add("transformer.wte.weight", [rows, d], 0.5);
    add("transformer.wpe.weight", [s.context, d], 0.2);
    for (let l = 0; l < s.layers; l++) {
      const p = `transformer.h.${l}`;
      add(`${p}.ln_1.weight`, [d], 0.1, 1);
      add(`${p}.ln_1.bias`, [d], 0.1);
      add(`${p}.attn.c_attn.weight`, [d, 3 * d], 0.2);
      add(`${p}.attn.c_attn.bias`, [3 * d], 0.1);
      add(`${p}.attn.c_proj.weight`, [d, d], 0.2);
      add(`${p}.attn.c_proj.bias`, [d], 0.1);
      add(`${p}.ln_2.weight`, [d], 0.1, 1);
      add(`${p}.ln_2.bias`, [d], 0.1);
      add(`${p}.mlp.c_fc.weight`, [d, s.ff], 0.2);
      add(`${p}.mlp.c_fc.bias`, [s.ff], 0.1);
      add(`${p}.mlp.c_proj.weight`, [s.ff, d], 0.2);
      add(`${p}.mlp.c_proj.bias`, [d], 0.1);
    }
    add("transformer.ln_f.weight", [d], 0.1, 1);
    add("transformer.ln_f.bias", [d], 0.1);
    return tensors;
  }
  add("model.embed_tokens.weight", [rows, d], 0.5);
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [d], 0.1, 1);
    add(`${p}.self_attn.q_proj.weight`, [d, d], 0.3);
    add(`${p}.self_attn.k_proj.weight`, [kv, d], 0.3);
    add(`${p}.self_attn.v_proj.weight`, [kv, d], 0.3);
    if (s.arch === "qwen2") {
      add(`${p}.self_attn.q_proj.bias`, [d], 0.2);
      add(`${p}.self_attn.k_proj.bias`, [kv], 0.2);
      add(`${p}.self_attn.v_proj.bias`, [kv], 0.2);
    }
    add(`${p}.self_attn.o_proj.weight`, [d, d], 0.2);
    add(`${p}.post_attention_layernorm.weight`, [d], 0.1, 1);
    add(`${p}.mlp.gate_proj.weight`, [s.ff, d], 0.3);
    add(`${p}.mlp.up_proj.weight`, [s.ff, d], 0.3);
    add(`${p}.mlp.down_proj.weight`, [d, s.ff], 0.2);
  }
  add("model.norm.weight", [d], 0.1, 1);
  if (s.arch !== "qwen2") add("lm_head.weight", [rows, d], 0.3);
  return tensors;
}

/** Writes config.json, model.safetensors and the tokenizer files; returns the folder. */
export function writeTinyHF(dir: string, s: TinySpec, options: { config?: Record<string, unknown>; tensors?: TensorToWrite[] } = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(options.config ?? tinyConfig(s)));
  writeSafetensors(join(dir, "model.safetensors"), options.tensors ?? tinyWeights(s));
  tinyTokenizerFiles(dir);
  return dir;
}
