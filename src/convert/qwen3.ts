/**
 * Qwen3 → GGUF `qwen3`, as convert_hf_to_gguf.py's Qwen3Model: HF tensor order kept (NEOX RoPE,
 * no permutation), per-head q/k norms as attn_q_norm / attn_k_norm, explicit head size as
 * attention.key_length / value_length, RoPE scaling as keys. llama.cpp's qwen3 graph has no
 * sliding window, so a checkpoint that uses one converts with a warning.
 */
import { firstId, type JsonObject } from "../models/fields.js";
import { GGUF_NAMES, HF_NAMES, llamaConfigFromHF } from "../models/llama.js";
import type { WeightSource } from "../weights/source.js";
import { f32, plannedTensors, u32, type ConversionPlan, type NameTable } from "./plan.js";
import { ropeScalingMetadata } from "./rope-metadata.js";

export function planQwen3(json: JsonObject, origin: string, source: WeightSource): ConversionPlan {
  const c = llamaConfigFromHF(json, origin, "qwen3");
  const arch = "qwen3";
  const d = c.hiddenSize, ff = c.intermediateSize, hd = c.headDim;
  const qDim = c.numHeads * hd, kvDim = c.numKVHeads * hd;
  const hf = HF_NAMES, gg = GGUF_NAMES;
  const table: NameTable = new Map();
  const weight = (hfBase: string, ggufBase: string, shape: number[], optional = false) =>
    table.set(`${hfBase}.weight`, { gguf: `${ggufBase}.weight`, shape, optional });
  const bias = (hfBase: string, ggufBase: string, length: number, present: boolean) =>
    table.set(`${hfBase}.bias`, { gguf: `${ggufBase}.bias`, shape: [length], optional: !present });

  weight(hf.tokenEmbd, gg.tokenEmbd, [c.vocabSize, d]);
  for (let l = 0; l < c.numLayers; l++) {
    weight(hf.attnNorm(l), gg.attnNorm(l), [d]);
    weight(hf.q(l), gg.q(l), [qDim, d]);
    bias(hf.q(l), gg.q(l), qDim, c.qkvBias);
    weight(hf.k(l), gg.k(l), [kvDim, d]);
    bias(hf.k(l), gg.k(l), kvDim, c.qkvBias);
    weight(hf.v(l), gg.v(l), [kvDim, d]);
    bias(hf.v(l), gg.v(l), kvDim, c.qkvBias);
    weight(hf.qNorm(l), gg.qNorm(l), [hd]);
    weight(hf.kNorm(l), gg.kNorm(l), [hd]);
    weight(hf.o(l), gg.o(l), [d, qDim]);
    bias(hf.o(l), gg.o(l), d, c.outputBias);
    weight(hf.ffnNorm(l), gg.ffnNorm(l), [d]);
    weight(hf.gate(l), gg.gate(l), [ff, d]);
    weight(hf.up(l), gg.up(l), [ff, d]);
    weight(hf.down(l), gg.down(l), [d, ff]);
  }
  weight(hf.outputNorm, gg.outputNorm, [d]);
  weight(hf.output, gg.output, [c.vocabSize, d], true);

  const warnings: string[] = [];
  if (c.layerTypes.includes("sliding_attention")) {
    warnings.push(`${origin}: sliding_window ${c.slidingWindow} is not stored; llama.cpp's qwen3 architecture attends to the whole context`);
  }
  const key = (k: string) => `${arch}.${k}`;
  return {
    architecture: arch,
    metadata: [
      u32(key("context_length"), c.maxPositions),
      u32(key("embedding_length"), d),
      u32(key("feed_forward_length"), ff),
      u32(key("block_count"), c.numLayers),
      u32(key("attention.head_count"), c.numHeads),
      u32(key("attention.head_count_kv"), c.numKVHeads),
      u32(key("attention.key_length"), hd),
      u32(key("attention.value_length"), hd),
      f32(key("rope.freq_base"), c.ropeTheta),
      f32(key("attention.layer_norm_rms_epsilon"), c.rmsNormEps),
      ...ropeScalingMetadata(arch, c.ropeScaling, origin, warnings),
    ],
    tensors: plannedTensors(source, table, (name) => name.endsWith(".rotary_emb.inv_freq")),
    bosTokenId: c.bosTokenId,
    eosTokenId: firstId(c.eosTokenId),
    warnings,
  };
}
