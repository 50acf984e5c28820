/**
 * GPT-2 → GGUF `gpt2`, as convert_hf_to_gguf.py's GPT2Model: the Conv1D matrices (c_attn, c_proj,
 * c_fc) are transposed from (in, out) to (out, in); the attention-mask buffers are dropped; the
 * head stays tied (llama.cpp reuses token_embd when there is no `output.weight`).
 */
import { firstId, type JsonObject } from "../models/fields.js";
import { GGUF_NAMES, gpt2ConfigFromHF, hfNames } from "../models/gpt2.js";
import type { WeightSource } from "../weights/source.js";
import { transposed } from "./layout.js";
import { f32, plannedTensors, u32, type ConversionPlan, type NameTable } from "./plan.js";

export function planGPT2(json: JsonObject, origin: string, source: WeightSource): ConversionPlan {
  const c = gpt2ConfigFromHF(json, origin);
  const d = c.hiddenSize, ff = c.intermediateSize;
  const hf = hfNames(source);
  const gg = GGUF_NAMES;
  const table: NameTable = new Map();

  const vector = (hfBase: string, ggufBase: string, length: number) => {
    table.set(`${hfBase}.weight`, { gguf: `${ggufBase}.weight`, shape: [length] });
    table.set(`${hfBase}.bias`, { gguf: `${ggufBase}.bias`, shape: [length] });
  };
  // A Conv1D layer: weight stored (in, out), bias (out).
  const conv1d = (hfBase: string, ggufBase: string, inFeatures: number, outFeatures: number) => {
    table.set(`${hfBase}.weight`, {
      gguf: `${ggufBase}.weight`, shape: [inFeatures, outFeatures], ggufShape: [outFeatures, inFeatures],
      rearrange: (values) => transposed(values, inFeatures, outFeatures),
    });
    table.set(`${hfBase}.bias`, { gguf: `${ggufBase}.bias`, shape: [outFeatures] });
  };

  table.set(`${hf.tokenEmbd}.weight`, { gguf: `${gg.tokenEmbd}.weight`, shape: [c.vocabSize, d] });
  table.set(`${hf.positionEmbd}.weight`, { gguf: `${gg.positionEmbd}.weight`, shape: [c.maxPositions, d] });
  for (let l = 0; l < c.numLayers; l++) {
    vector(hf.attnNorm(l), gg.attnNorm(l), d);
    conv1d(hf.attnQKV(l), gg.attnQKV(l), d, 3 * d);
    conv1d(hf.attnOut(l), gg.attnOut(l), d, d);
    vector(hf.ffnNorm(l), gg.ffnNorm(l), d);
    conv1d(hf.ffnUp(l), gg.ffnUp(l), d, ff);
    conv1d(hf.ffnDown(l), gg.ffnDown(l), ff, d);
  }
  vector(hf.outputNorm, gg.outputNorm, d);
  table.set(`${hf.output}.weight`, { gguf: `${gg.output}.weight`, shape: [c.vocabSize, d], optional: true });

  // The causal-mask buffers old checkpoints carry are not weights.
  const skip = (name: string) => name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias");

  return {
    architecture: "gpt2",
    metadata: [
      // n_positions rows of wpe: llama.cpp sizes position_embd by the context length.
      u32("gpt2.context_length", c.maxPositions),
      u32("gpt2.embedding_length", d),
      u32("gpt2.feed_forward_length", ff),
      u32("gpt2.block_count", c.numLayers),
      u32("gpt2.attention.head_count", c.numHeads),
      f32("gpt2.attention.layer_norm_epsilon", c.layerNormEps),
    ],
    tensors: plannedTensors(source, table, skip),
    bosTokenId: c.bosTokenId,
    eosTokenId: firstId(c.eosTokenId),
    warnings: [],
  };
}
