// A tiny `llama`-architecture GGUF that llama.cpp accepts: one layer, 256-wide, a SentencePiece-style
// vocabulary of control tokens, the 256 byte tokens and a few words. Its attention output and FFN down
// projections are zero, so the hidden state of a token is exactly its embedding row and llama.cpp's
// "embedding" (after the final RMSNorm with unit weights) is rmsNorm(token_embd[token]).
import type { DType } from "../../src/tensor/tensor.js";
import type { GGUFMetaEntry } from "../../src/weights/gguf-format.js";
import type { TensorToWrite } from "../../src/weights/encode.js";
import { gaussian, seededRandom } from "./helpers.js";

export const TINY = { embd: 256, ff: 32, heads: 4, context: 64, rmsEps: 1e-5 } as const;

export function tinyVocab(): { tokens: string[]; types: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3]; // unknown, control, control
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6); // byte
  }
  for (const word of ["▁the", "▁loom", "▁weaves", "▁a", "▁tiny", "▁model", "s", "▁"]) {
    tokens.push(word);
    types.push(1); // normal
  }
  return { tokens, types };
}

export function tinyLlamaGGUF(embeddingDType: DType, seed: number): { metadata: GGUFMetaEntry[]; tensors: TensorToWrite[] } {
  const { tokens, types } = tinyVocab();
  const { embd, ff, heads, context, rmsEps } = TINY;
  const random = seededRandom(seed);
  const metadata: GGUFMetaEntry[] = [
    { key: "general.architecture", type: "string", value: "llama" },
    { key: "general.name", type: "string", value: "loom-tiny" },
    { key: "llama.context_length", type: "uint32", value: context },
    { key: "llama.embedding_length", type: "uint32", value: embd },
    { key: "llama.block_count", type: "uint32", value: 1 },
    { key: "llama.feed_forward_length", type: "uint32", value: ff },
    { key: "llama.attention.head_count", type: "uint32", value: heads },
    { key: "llama.attention.head_count_kv", type: "uint32", value: heads },
    { key: "llama.rope.dimension_count", type: "uint32", value: embd / heads },
    { key: "llama.attention.layer_norm_rms_epsilon", type: "float32", value: rmsEps },
    { key: "tokenizer.ggml.model", type: "string", value: "llama" },
    { key: "tokenizer.ggml.tokens", type: { array: "string" }, value: tokens },
    { key: "tokenizer.ggml.scores", type: { array: "float32" }, value: tokens.map((_, i) => -i) },
    { key: "tokenizer.ggml.token_type", type: { array: "int32" }, value: types },
    { key: "tokenizer.ggml.bos_token_id", type: "uint32", value: 1 },
    { key: "tokenizer.ggml.eos_token_id", type: "uint32", value: 2 },
    { key: "tokenizer.ggml.unknown_token_id", type: "uint32", value: 0 },
    { key: "tokenizer.ggml.add_bos_token", type: "bool", value: false },
  ];
  const vocab = tokens.length;
  const dense = (name: string, rows: number, cols: number, scale: number): TensorToWrite =>
    ({ name, dtype: "f16", shape: [rows, cols], data: gaussian(random, rows * cols, scale) });
  const zeros = (name: string, rows: number, cols: number): TensorToWrite =>
    ({ name, dtype: "f16", shape: [rows, cols], data: new Float32Array(rows * cols) });
  const ones = (name: string): TensorToWrite => ({ name, dtype: "f32", shape: [embd], data: new Float32Array(embd).fill(1) });
  const embedding = gaussian(random, vocab * embd, 0.5);
  for (let i = 0; i < 64; i++) embedding[Math.floor(random() * embedding.length)] *= 8; // outliers stress the scales
  const tensors: TensorToWrite[] = [
    { name: "token_embd.weight", dtype: embeddingDType, shape: [vocab, embd], data: embedding },
    ones("output_norm.weight"),
    dense("output.weight", vocab, embd, 0.05),
    ones("blk.0.attn_norm.weight"),
    dense("blk.0.attn_q.weight", embd, embd, 0.05),
    dense("blk.0.attn_k.weight", embd, embd, 0.05),
    dense("blk.0.attn_v.weight", embd, embd, 0.05),
    zeros("blk.0.attn_output.weight", embd, embd),
    ones("blk.0.ffn_norm.weight"),
    dense("blk.0.ffn_gate.weight", ff, embd, 0.05),
    dense("blk.0.ffn_up.weight", ff, embd, 0.05),
    zeros("blk.0.ffn_down.weight", embd, ff),
  ];
  return { metadata, tensors };
}
