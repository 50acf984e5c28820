/**
 * Llama, Mistral and Qwen2 → GGUF, as convert_hf_to_gguf.py's LlamaModel and Qwen2Model:
 *   - `llama` and `mistral` become GGUF arch "llama", whose Q/K rows (weights and biases) are
 *     permuted for adjacent-pair RoPE — K with the KV head count; `qwen2` keeps HF order (NEOX);
 *   - Llama 3's `rope_scaling` {rope_type: "llama3"} becomes a `rope_freqs.weight` tensor of
 *     per-frequency divisors; linear and YaRN scaling become `rope.scaling.*` keys;
 *   - a tied head simply has no `output.weight`.
 */
import { LoomError } from "../errors.js";
import { llama3RopeFactors, ropeInvFreq } from "../kernels/rope.js";
import { firstId, type JsonObject } from "../models/fields.js";
import { GGUF_NAMES, HF_NAMES, llamaConfigFromHF, type LlamaArchitecture, type LlamaConfig } from "../models/llama.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import type { WeightSource } from "../weights/source.js";
import { permutedForAdjacentRope } from "./layout.js";
import { f32, plannedTensors, u32, type ConversionPlan, type NameTable, type PlannedTensor } from "./plan.js";
import { ropeScalingMetadata } from "./rope-metadata.js";

export function planLlama(json: JsonObject, origin: string, source: WeightSource, family: LlamaArchitecture): ConversionPlan {
  const c = llamaConfigFromHF(json, origin, family);
  const arch = family === "qwen2" ? "qwen2" : "llama";
  const permute = arch === "llama";
  const d = c.hiddenSize, ff = c.intermediateSize;
  const qDim = c.numHeads * c.headDim, kvDim = c.numKVHeads * c.headDim;
  const hf = HF_NAMES, gg = GGUF_NAMES;
  const table: NameTable = new Map();

  const vector = (hfBase: string, ggufBase: string) => table.set(`${hfBase}.weight`, { gguf: `${ggufBase}.weight`, shape: [d] });
  // A Linear layer (out, in), its optional bias (out), and for Q/K the RoPE permutation over `heads`.
  const linear = (hfBase: string, ggufBase: string, out: number, inFeatures: number, bias: boolean, heads?: number) => {
    const rearrange = permute && heads ? (values: Float32Array) => permutedForAdjacentRope(values, heads, values.length / out) : undefined;
    table.set(`${hfBase}.weight`, { gguf: `${ggufBase}.weight`, shape: [out, inFeatures], rearrange });
    table.set(`${hfBase}.bias`, { gguf: `${ggufBase}.bias`, shape: [out], optional: !bias, rearrange });
  };

  table.set(`${hf.tokenEmbd}.weight`, { gguf: `${gg.tokenEmbd}.weight`, shape: [c.vocabSize, d] });
  for (let l = 0; l < c.numLayers; l++) {
    vector(hf.attnNorm(l), gg.attnNorm(l));
    linear(hf.q(l), gg.q(l), qDim, d, c.qkvBias, c.numHeads);
    linear(hf.k(l), gg.k(l), kvDim, d, c.qkvBias, c.numKVHeads);
    linear(hf.v(l), gg.v(l), kvDim, d, c.qkvBias);
    linear(hf.o(l), gg.o(l), d, qDim, c.outputBias);
    vector(hf.ffnNorm(l), gg.ffnNorm(l));
    linear(hf.gate(l), gg.gate(l), ff, d, c.mlpBias);
    linear(hf.up(l), gg.up(l), ff, d, c.mlpBias);
    linear(hf.down(l), gg.down(l), d, ff, c.mlpBias);
  }
  vector(hf.outputNorm, gg.outputNorm);
  table.set(`${hf.output}.weight`, { gguf: `${gg.output}.weight`, shape: [c.vocabSize, d], optional: true });

  const skip = (name: string) => name.endsWith(".rotary_emb.inv_freq");
  const tensors = [...ropeFreqsTensor(c, arch, origin), ...plannedTensors(source, table, skip)];

  const warnings: string[] = [];
  if (c.slidingWindow !== undefined && c.slidingWindow < c.maxPositions) {
    warnings.push(`${origin}: sliding_window ${c.slidingWindow} is not stored; llama.cpp's "llama" architecture attends to the whole context`);
  }
  return {
    architecture: arch,
    metadata: hyperparameters(c, arch, json, origin, warnings),
    tensors,
    bosTokenId: c.bosTokenId,
    eosTokenId: firstId(c.eosTokenId),
    warnings,
  };
}

function hyperparameters(c: LlamaConfig, arch: string, json: JsonObject, origin: string, warnings: string[]): GGUFMetaEntry[] {
  const key = (k: string) => `${arch}.${k}`;
  const entries = [
    u32(key("context_length"), c.maxPositions),
    u32(key("embedding_length"), c.hiddenSize),
    u32(key("feed_forward_length"), c.intermediateSize),
    u32(key("block_count"), c.numLayers),
    u32(key("attention.head_count"), c.numHeads),
    u32(key("attention.head_count_kv"), c.numKVHeads),
    f32(key("rope.freq_base"), c.ropeTheta),
    f32(key("attention.layer_norm_rms_epsilon"), c.rmsNormEps),
  ];
  if (json.head_dim !== undefined && json.head_dim !== null) {
    entries.push(u32(key("attention.key_length"), c.headDim), u32(key("attention.value_length"), c.headDim));
  }
  if (arch === "llama") entries.push(u32(key("vocab_size"), c.vocabSize), u32(key("rope.dimension_count"), c.ropeDim));
  // llama3 scaling travels as the rope_freqs tensor instead (see below).
  if (c.ropeScaling.type !== "llama3") entries.push(...ropeScalingMetadata(arch, c.ropeScaling, origin, warnings));
  return entries;
}

/** Llama 3 scaling as llama.cpp stores it: one divisor per rotated frequency. */
function ropeFreqsTensor(c: LlamaConfig, arch: string, origin: string): PlannedTensor[] {
  if (c.ropeScaling.type !== "llama3") return [];
  if (arch !== "llama") throw new LoomError(`${origin}: llama3 rope scaling is only stored for the llama architecture, not ${arch}`);
  const factors = llama3RopeFactors(ropeInvFreq(c.ropeDim, c.ropeTheta), c.ropeScaling);
  return [{ name: `${GGUF_NAMES.ropeFreqs}.weight`, shape: [factors.length], values: () => Float32Array.from(factors) }];
}
