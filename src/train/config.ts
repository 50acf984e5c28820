import { LoomError } from "../errors.js";

/** The shape of a Llama-family model as the trainer builds it (names follow HF's LlamaConfig). */
export interface TrainModelConfig {
  vocabSize: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKVHeads: number;
  /** SwiGLU inner size (HF intermediate_size). */
  hiddenDim: number;
  /** The longest sequence the model is trained on (HF max_position_embeddings). */
  maxSeqLen: number;
  ropeTheta: number;
  normEps: number;
}

export function headDim(c: TrainModelConfig): number {
  return c.dim / c.nHeads;
}

export function validateConfig(c: TrainModelConfig): void {
  const fail = (why: string): never => {
    throw new LoomError(`invalid model config: ${why} (${JSON.stringify(c)})`);
  };
  for (const key of ["vocabSize", "dim", "nLayers", "nHeads", "nKVHeads", "hiddenDim", "maxSeqLen"] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0) fail(`${key} must be a positive integer`);
  }
  if (c.dim % c.nHeads !== 0) fail("dim must be a multiple of nHeads");
  if (headDim(c) % 2 !== 0) fail("the head size dim/nHeads must be even for RoPE");
  if (c.nHeads % c.nKVHeads !== 0) fail("nHeads must be a multiple of nKVHeads");
  if (!(c.ropeTheta > 0) || !(c.normEps > 0)) fail("ropeTheta and normEps must be positive");
}

/** One named tensor inside the flat parameter vector, in the HF checkpoint's naming. */
export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Whether AdamW's weight decay applies (projection matrices only; see docs/training.md). */
  decay: boolean;
}

/**
 * The flat parameter layout. Q, K and V rows sit back to back, as do gate and up, so each group is
 * one fused matrix for the matmul while the checkpoint still sees HF's separate tensors.
 */
export function paramTable(c: TrainModelConfig): ParamEntry[] {
  const hd = headDim(c);
  const entries: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, decay });
    offset += size;
  };
  add("model.embed_tokens.weight", [c.vocabSize, c.dim], false);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`;
    add(`${p}input_layernorm.weight`, [c.dim], false);
    add(`${p}self_attn.q_proj.weight`, [c.nHeads * hd, c.dim], true);
    add(`${p}self_attn.k_proj.weight`, [c.nKVHeads * hd, c.dim], true);
    add(`${p}self_attn.v_proj.weight`, [c.nKVHeads * hd, c.dim], true);
    add(`${p}self_attn.o_proj.weight`, [c.dim, c.nHeads * hd], true);
    add(`${p}post_attention_layernorm.weight`, [c.dim], false);
    add(`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim], true);
    add(`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim], true);
    add(`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim], true);
  }
  add("model.norm.weight", [c.dim], false);
  return entries;
}

export function paramCount(c: TrainModelConfig): number {
  const t = paramTable(c);
  const last = t[t.length - 1];
  return last.offset + last.size;
}
