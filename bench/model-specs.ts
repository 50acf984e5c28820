/**
 * The shapes of the benchmark models and the tensors each file holds, in GGUF naming and layout
 * (matrices (out, in), outermost first). GPT-2 also has an HF folder: its tensors carry the HF
 * name and whether HF stores them transposed (Conv1D keeps (in, out)).
 */
import type { GGUFMetaEntry } from "../src/weights/gguf-format.js";
import type { ValueKind } from "./random-weights.js";

export interface GPT2Shape {
  arch: "gpt2";
  vocab: number; hidden: number; layers: number; heads: number; ffn: number; positions: number;
}

export interface LlamaShape {
  arch: "llama";
  vocab: number; hidden: number; layers: number; heads: number; kvHeads: number; ffn: number;
  positions: number; ropeTheta: number; tied: boolean;
}

export type ModelShape = GPT2Shape | LlamaShape;

/** Which vocabulary goes into the file's tokenizer metadata. */
export type VocabKind = "gpt2" | "llama2";

export interface BenchModel {
  /** Short id for `--only`. */
  id: string;
  title: string;
  shape: ModelShape;
  vocab: VocabKind;
  /** GGUF storage types to generate (matrices; norms and biases stay F32). */
  ggufDTypes: ("f32" | "q8_0")[];
  /** Also write an HF folder (F32 safetensors) with the same weights. */
  hfFolder: boolean;
}

export const BENCH_MODELS: readonly BenchModel[] = [
  {
    id: "gpt2", title: "GPT-2-124M",
    shape: { arch: "gpt2", vocab: 50257, hidden: 768, layers: 12, heads: 12, ffn: 3072, positions: 1024 },
    vocab: "gpt2", ggufDTypes: ["f32", "q8_0"], hfFolder: true,
  },
  {
    id: "smollm2", title: "SmolLM2-135M",
    shape: { arch: "llama", vocab: 49152, hidden: 576, layers: 30, heads: 9, kvHeads: 3, ffn: 1536, positions: 8192, ropeTheta: 100000, tied: true },
    vocab: "gpt2", ggufDTypes: ["q8_0"], hfFolder: false,
  },
  {
    id: "tinyllama", title: "TinyLlama-1.1B",
    shape: { arch: "llama", vocab: 32000, hidden: 2048, layers: 22, heads: 32, kvHeads: 4, ffn: 5632, positions: 2048, ropeTheta: 10000, tied: false },
    vocab: "llama2", ggufDTypes: ["q8_0"], hfFolder: false,
  },
];

export interface TensorSpec {
  /** GGUF name. */
  name: string;
  /** GGUF layout, outermost first. */
  shape: number[];
  kind: ValueKind;
  /** Stored in the file's matrix dtype (else F32). */
  quantizable: boolean;
  /** Read in full for every decoded token (embedding tables are not, unless they are the output). */
  readPerToken: boolean;
  /** HF name and layout, for models with an HF folder. */
  hf?: { name: string; transposed: boolean };
}

/** Standard deviation of the random matrices: GPT-2's initialiser, small enough to keep activations tame. */
export const WEIGHT_STD = 0.02;

export function tensorSpecs(shape: ModelShape): TensorSpec[] {
  return shape.arch === "gpt2" ? gpt2Tensors(shape) : llamaTensors(shape);
}

function gpt2Tensors(s: GPT2Shape): TensorSpec[] {
  const d = s.hidden;
  const out: TensorSpec[] = [];
  const matrix = (name: string, shape: number[], hf: string, transposed: boolean, readPerToken = true): void => {
    out.push({ name, shape, kind: "matrix", quantizable: true, readPerToken, hf: { name: hf, transposed } });
  };
  const vector = (name: string, n: number, kind: ValueKind, hf: string): void => {
    out.push({ name, shape: [n], kind, quantizable: false, readPerToken: true, hf: { name: hf, transposed: false } });
  };
  // The output head is tied to token_embd, so the whole table is read for every token.
  matrix("token_embd.weight", [s.vocab, d], "wte.weight", false);
  out.push({ name: "position_embd.weight", shape: [s.positions, d], kind: "matrix", quantizable: false, readPerToken: false, hf: { name: "wpe.weight", transposed: false } });
  for (let l = 0; l < s.layers; l++) {
    const b = `blk.${l}`, h = `h.${l}`;
    vector(`${b}.attn_norm.weight`, d, "norm", `${h}.ln_1.weight`);
    vector(`${b}.attn_norm.bias`, d, "bias", `${h}.ln_1.bias`);
    matrix(`${b}.attn_qkv.weight`, [3 * d, d], `${h}.attn.c_attn.weight`, true);
    vector(`${b}.attn_qkv.bias`, 3 * d, "bias", `${h}.attn.c_attn.bias`);
    matrix(`${b}.attn_output.weight`, [d, d], `${h}.attn.c_proj.weight`, true);
    vector(`${b}.attn_output.bias`, d, "bias", `${h}.attn.c_proj.bias`);
    vector(`${b}.ffn_norm.weight`, d, "norm", `${h}.ln_2.weight`);
    vector(`${b}.ffn_norm.bias`, d, "bias", `${h}.ln_2.bias`);
    matrix(`${b}.ffn_up.weight`, [s.ffn, d], `${h}.mlp.c_fc.weight`, true);
    vector(`${b}.ffn_up.bias`, s.ffn, "bias", `${h}.mlp.c_fc.bias`);
    matrix(`${b}.ffn_down.weight`, [d, s.ffn], `${h}.mlp.c_proj.weight`, true);
    vector(`${b}.ffn_down.bias`, d, "bias", `${h}.mlp.c_proj.bias`);
  }
  vector("output_norm.weight", d, "norm", "ln_f.weight");
  vector("output_norm.bias", d, "bias", "ln_f.bias");
  return out;
}

function llamaTensors(s: LlamaShape): TensorSpec[] {
  const d = s.hidden;
  const headDim = d / s.heads;
  const out: TensorSpec[] = [];
  const matrix = (name: string, shape: number[], readPerToken = true): void => {
    out.push({ name, shape, kind: "matrix", quantizable: true, readPerToken });
  };
  const norm = (name: string): void => {
    out.push({ name, shape: [d], kind: "norm", quantizable: false, readPerToken: true });
  };
  matrix("token_embd.weight", [s.vocab, d], s.tied);
  for (let l = 0; l < s.layers; l++) {
    const b = `blk.${l}`;
    norm(`${b}.attn_norm.weight`);
    matrix(`${b}.attn_q.weight`, [s.heads * headDim, d]);
    matrix(`${b}.attn_k.weight`, [s.kvHeads * headDim, d]);
    matrix(`${b}.attn_v.weight`, [s.kvHeads * headDim, d]);
    matrix(`${b}.attn_output.weight`, [d, s.heads * headDim]);
    norm(`${b}.ffn_norm.weight`);
    matrix(`${b}.ffn_gate.weight`, [s.ffn, d]);
    matrix(`${b}.ffn_up.weight`, [s.ffn, d]);
    matrix(`${b}.ffn_down.weight`, [d, s.ffn]);
  }
  norm("output_norm.weight");
  if (!s.tied) matrix("output.weight", [s.vocab, d]);
  return out;
}

/** llama.cpp's general.file_type codes for the storage types we write. */
const FILE_TYPE: Record<"f32" | "q8_0", number> = { f32: 0, q8_0: 7 };

/** Architecture metadata as llama.cpp's converter writes it (tokenizer keys come separately). */
export function architectureMetadata(shape: ModelShape, name: string, dtype: "f32" | "q8_0"): GGUFMetaEntry[] {
  const a = shape.arch;
  const u32 = (key: string, value: number): GGUFMetaEntry => ({ key: `${a}.${key}`, type: "uint32", value });
  const f32 = (key: string, value: number): GGUFMetaEntry => ({ key: `${a}.${key}`, type: "float32", value });
  const common: GGUFMetaEntry[] = [
    { key: "general.architecture", type: "string", value: a },
    { key: "general.name", type: "string", value: name },
    { key: "general.file_type", type: "uint32", value: FILE_TYPE[dtype] },
    u32("context_length", shape.positions),
    u32("embedding_length", shape.hidden),
    u32("feed_forward_length", shape.ffn),
    u32("block_count", shape.layers),
    u32("attention.head_count", shape.heads),
  ];
  if (shape.arch === "gpt2") return [...common, f32("attention.layer_norm_epsilon", 1e-5)];
  return [
    ...common,
    u32("attention.head_count_kv", shape.kvHeads),
    f32("attention.layer_norm_rms_epsilon", 1e-5),
    f32("rope.freq_base", shape.ropeTheta),
    u32("rope.dimension_count", shape.hidden / shape.heads),
    u32("vocab_size", shape.vocab),
  ];
}

/** config.json of the HF GPT-2 folder. */
export function gpt2HfConfig(s: GPT2Shape): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: s.vocab,
    n_positions: s.positions,
    n_ctx: s.positions,
    n_embd: s.hidden,
    n_layer: s.layers,
    n_head: s.heads,
    n_inner: s.ffn === 4 * s.hidden ? null : s.ffn,
    activation_function: "gelu_new",
    layer_norm_epsilon: 1e-5,
    // <|endoftext|> is the last id of our (possibly cut) GPT-2 vocabulary.
    bos_token_id: s.vocab - 1,
    eos_token_id: s.vocab - 1,
    tie_word_embeddings: true,
    torch_dtype: "float32",
  };
}
