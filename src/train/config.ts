import { LoomError } from "../errors.js";

/** The shape of a Llama-family model as the trainer builds it (names follow HF's LlamaConfig). */
export interface TrainModelConfig {
  vocabSize: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKVHeads: number;
  /** The MLP's inner size (HF intermediate_size). */
  hiddenDim: number;
  /** The longest sequence the model is trained on (HF max_position_embeddings); with learned positions, the table's rows. */
  maxSeqLen: number;
  ropeTheta: number;
  normEps: number;
}

/** Where each block's RMSNorm sits: before the sublayer (Llama, GPT-2) or after the residual add (the 2017 Transformer). */
export type NormPlacement = "pre" | "post";
/** The MLP: SwiGLU (gate, up, down) or a plain two-matrix GELU MLP (up, down). */
export type MlpKind = "swiglu" | "gelu";
/** How the model knows where a token is: RoPE on q and k, or a learned table added to the embedding. */
export type PositionKind = "rope" | "learned";

/** How a block is wired. The trainer builds LLAMA_VARIANT; the others exist for docs/experiments.md. */
export interface Variant {
  norm: NormPlacement;
  mlp: MlpKind;
  positions: PositionKind;
}

export const LLAMA_VARIANT: Variant = Object.freeze({ norm: "pre", mlp: "swiglu", positions: "rope" });

export function validateVariant(v: Variant): void {
  if (!["pre", "post"].includes(v.norm) || !["swiglu", "gelu"].includes(v.mlp) || !["rope", "learned"].includes(v.positions)) {
    throw new LoomError(`invalid model variant ${JSON.stringify(v)}: norm is pre|post, mlp swiglu|gelu, positions rope|learned`);
  }
}

/** Rows of the MLP's input matrix: gate and up back to back for SwiGLU, up alone for GELU. */
export function mlpInWidth(c: TrainModelConfig, v: Variant): number {
  return v.mlp === "swiglu" ? 2 * c.hiddenDim : c.hiddenDim;
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
 * one fused matrix for the matmul while the checkpoint still sees HF's separate tensors. Other
 * variants drop the gate (GELU) or add a position table under GPT-2's wpe role.
 */
export function paramTable(c: TrainModelConfig, variant: Variant = LLAMA_VARIANT): ParamEntry[] {
  const hd = headDim(c);
  const entries: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, decay });
    offset += size;
  };
  add("model.embed_tokens.weight", [c.vocabSize, c.dim], false);
  if (variant.positions === "learned") add("model.embed_positions.weight", [c.maxSeqLen, c.dim], false);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`;
    add(`${p}input_layernorm.weight`, [c.dim], false);
    add(`${p}self_attn.q_proj.weight`, [c.nHeads * hd, c.dim], true);
    add(`${p}self_attn.k_proj.weight`, [c.nKVHeads * hd, c.dim], true);
    add(`${p}self_attn.v_proj.weight`, [c.nKVHeads * hd, c.dim], true);
    add(`${p}self_attn.o_proj.weight`, [c.dim, c.nHeads * hd], true);
    add(`${p}post_attention_layernorm.weight`, [c.dim], false);
    if (variant.mlp === "swiglu") add(`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim], true);
    add(`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim], true);
    add(`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim], true);
  }
  add("model.norm.weight", [c.dim], false);
  return entries;
}

export function paramCount(c: TrainModelConfig, variant: Variant = LLAMA_VARIANT): number {
  const t = paramTable(c, variant);
  const last = t[t.length - 1];
  return last.offset + last.size;
}
