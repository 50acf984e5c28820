import { LoomError } from "../../errors.js";
import { headDim, validateConfig, type ParamEntry, type TrainModelConfig } from "../config.js";

/** Where each block's RMSNorm sits: before the sublayer (Llama, GPT-2) or after the residual add (the 2017 Transformer). */
export type NormPlacement = "pre" | "post";
/** The MLP: SwiGLU (gate, up, down) or a plain two-matrix GELU MLP (up, down). */
export type MlpKind = "swiglu" | "gelu";
/** How the model knows where a token is: RoPE on q and k, or a learned table added to the embedding. */
export type PositionKind = "rope" | "learned";

export interface Variant {
  norm: NormPlacement;
  mlp: MlpKind;
  positions: PositionKind;
}

export const LLAMA_VARIANT: Variant = { norm: "pre", mlp: "swiglu", positions: "rope" };

/**
 * The variant model's shape: a TrainModelConfig (hiddenDim is the MLP's inner width, whichever MLP)
 * plus the block variant. With learned positions, maxSeqLen is the size of the position table.
 */
export interface VariantConfig extends TrainModelConfig {
  variant: Variant;
}

export function validateVariantConfig(c: VariantConfig): void {
  validateConfig(c);
  const v = c.variant;
  if (!["pre", "post"].includes(v.norm) || !["swiglu", "gelu"].includes(v.mlp) || !["rope", "learned"].includes(v.positions)) {
    throw new LoomError(`invalid model variant ${JSON.stringify(v)}: norm is pre|post, mlp swiglu|gelu, positions rope|learned`);
  }
}

/** Rows of the MLP's input matrix: gate and up back to back for SwiGLU, up alone for GELU. */
export function mlpInWidth(c: VariantConfig): number {
  return c.variant.mlp === "swiglu" ? 2 * c.hiddenDim : c.hiddenDim;
}

/** The flat parameter layout, in HF-style names (GPT-2's wpe name for the position table). */
export function variantParamTable(c: VariantConfig): ParamEntry[] {
  const hd = headDim(c);
  const entries: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, decay });
    offset += size;
  };
  add("model.embed_tokens.weight", [c.vocabSize, c.dim], false);
  if (c.variant.positions === "learned") add("model.embed_positions.weight", [c.maxSeqLen, c.dim], false);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}.`;
    add(`${p}input_layernorm.weight`, [c.dim], false);
    add(`${p}self_attn.q_proj.weight`, [c.nHeads * hd, c.dim], true);
    add(`${p}self_attn.k_proj.weight`, [c.nKVHeads * hd, c.dim], true);
    add(`${p}self_attn.v_proj.weight`, [c.nKVHeads * hd, c.dim], true);
    add(`${p}self_attn.o_proj.weight`, [c.dim, c.nHeads * hd], true);
    add(`${p}post_attention_layernorm.weight`, [c.dim], false);
    if (c.variant.mlp === "swiglu") add(`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim], true);
    add(`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim], true);
    add(`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim], true);
  }
  add("model.norm.weight", [c.dim], false);
  return entries;
}

export function variantParamCount(c: VariantConfig): number {
  const t = variantParamTable(c);
  const last = t[t.length - 1];
  return last.offset + last.size;
}
