/**
 * Gemma 3 → GGUF `gemma3`, as convert_hf_to_gguf.py's Gemma3Model: every `*norm.weight` stored as
 * w + 1 (Gemma3RMSNorm multiplies by 1 + w; llama.cpp by the stored weight), HF tensor order kept
 * (NEOX RoPE), the window as attention.sliding_window, the local RoPE base as rope.freq_base_swa,
 * the global layers' scaling as rope.scaling.*. A multimodal checkpoint converts its text model;
 * the vision tower and projector are left out.
 *
 * What llama.cpp cannot say: an attention logit soft-cap (its converter refuses one too), and a
 * query_pre_attn_scalar other than the one its layer-count rule implies (a warning: llama.cpp and
 * Loom's GGUF reader would then use 1/√head_dim).
 */
import { LoomError } from "../errors.js";
import { firstId, type JsonObject } from "../models/fields.js";
import { GEMMA3_GGUF_NAMES, gemma3ConfigFromHF, gemma3HFNamesFor } from "../models/gemma3.js";
import { patternLayerTypes } from "../models/layer-types.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import type { WeightSource } from "../weights/source.js";
import { f32, plannedTensors, u32, type ConversionPlan, type NameTable } from "./plan.js";
import { ropeScalingMetadata } from "./rope-metadata.js";

export function planGemma3(json: JsonObject, origin: string, source: WeightSource): ConversionPlan {
  const c = gemma3ConfigFromHF(json, origin);
  if (c.attnSoftCap !== undefined) throw new LoomError(`${origin}: attn_logit_softcapping cannot be stored in a GGUF gemma3 file`);
  const arch = "gemma3";
  const d = c.hiddenSize, ff = c.intermediateSize, hd = c.headDim;
  const qDim = c.numHeads * hd, kvDim = c.numKVHeads * hd;
  const hf = gemma3HFNamesFor(source), gg = GEMMA3_GGUF_NAMES;
  const table: NameTable = new Map();
  const plusOne = (values: Float32Array) => values.map((v) => v + 1);
  const norm = (hfBase: string, ggufBase: string, dim = d) =>
    table.set(`${hfBase}.weight`, { gguf: `${ggufBase}.weight`, shape: [dim], rearrange: plusOne });
  const linear = (hfBase: string, ggufBase: string, rows: number, cols: number) => {
    table.set(`${hfBase}.weight`, { gguf: `${ggufBase}.weight`, shape: [rows, cols] });
    table.set(`${hfBase}.bias`, { gguf: `${ggufBase}.bias`, shape: [rows], optional: !c.attentionBias });
  };

  table.set(`${hf.tokenEmbd}.weight`, { gguf: `${gg.tokenEmbd}.weight`, shape: [c.vocabSize, d] });
  for (let l = 0; l < c.numLayers; l++) {
    norm(hf.inputNorm(l), gg.inputNorm(l));
    linear(hf.q(l), gg.q(l), qDim, d);
    linear(hf.k(l), gg.k(l), kvDim, d);
    linear(hf.v(l), gg.v(l), kvDim, d);
    linear(hf.o(l), gg.o(l), d, qDim);
    norm(hf.qNorm(l), gg.qNorm(l), hd);
    norm(hf.kNorm(l), gg.kNorm(l), hd);
    norm(hf.postAttnNorm(l), gg.postAttnNorm(l));
    norm(hf.preFFNorm(l), gg.preFFNorm(l));
    table.set(`${hf.gate(l)}.weight`, { gguf: `${gg.gate(l)}.weight`, shape: [ff, d] });
    table.set(`${hf.up(l)}.weight`, { gguf: `${gg.up(l)}.weight`, shape: [ff, d] });
    table.set(`${hf.down(l)}.weight`, { gguf: `${gg.down(l)}.weight`, shape: [d, ff] });
    norm(hf.postFFNorm(l), gg.postFFNorm(l));
  }
  norm(hf.outputNorm, gg.outputNorm);
  table.set(`${hf.output}.weight`, { gguf: `${gg.output}.weight`, shape: [c.vocabSize, d], optional: true });

  // Only the text model: whatever lives outside its prefix (vision tower, projector) stays behind.
  const textPrefix = hf.tokenEmbd.slice(0, -"embed_tokens".length);
  const skip = (name: string) => !name.startsWith(textPrefix) || name.endsWith(".rotary_emb.inv_freq");

  const warnings: string[] = [];
  const llamaCppScale = 1 / Math.sqrt(c.numLayers === 62 ? d / c.numHeads : hd);
  if (Math.abs(c.attentionScale - llamaCppScale) > 1e-9 * llamaCppScale) {
    warnings.push(`${origin}: query_pre_attn_scalar ${(1 / c.attentionScale ** 2).toFixed(2)} is not stored; `
      + `llama.cpp (and Loom reading the GGUF) will scale attention by 1/√${c.numLayers === 62 ? d / c.numHeads : hd}`);
  }
  if (c.localRopeScaling.type !== "none") warnings.push(`${origin}: RoPE scaling of the sliding layers is not stored`);

  const key = (k: string) => `${arch}.${k}`;
  const metadata: GGUFMetaEntry[] = [
    u32(key("context_length"), c.maxPositions),
    u32(key("embedding_length"), d),
    u32(key("feed_forward_length"), ff),
    u32(key("block_count"), c.numLayers),
    u32(key("attention.head_count"), c.numHeads),
    u32(key("attention.head_count_kv"), c.numKVHeads),
    u32(key("attention.key_length"), hd),
    u32(key("attention.value_length"), hd),
    f32(key("attention.layer_norm_rms_epsilon"), c.rmsNormEps),
    f32(key("rope.freq_base"), c.ropeTheta),
    f32(key("rope.freq_base_swa"), c.ropeLocalTheta),
    ...slidingWindowMetadata(key, c.layerTypes, c.slidingWindow, origin),
    ...ropeScalingMetadata(arch, c.ropeScaling, origin, warnings),
  ];
  if (c.finalSoftCap !== undefined) metadata.push(f32(key("final_logit_softcapping"), c.finalSoftCap));
  return {
    architecture: arch,
    metadata,
    tensors: plannedTensors(source, table, skip),
    bosTokenId: c.bosTokenId,
    eosTokenId: firstId(c.eosTokenId),
    warnings,
  };
}

/** The window, and the layer pattern when it is not llama.cpp's default period of 6. */
function slidingWindowMetadata(
  key: (k: string) => string, types: readonly string[], window: number | undefined, origin: string,
): GGUFMetaEntry[] {
  if (window === undefined || !types.includes("sliding_attention")) return [];
  const same = (period: number) => patternLayerTypes(types.length, period).every((t, l) => t === types[l]);
  const entries = [u32(key("attention.sliding_window"), window)];
  if (same(6)) return entries;
  for (let period = 1; period <= types.length + 1; period++) {
    if (same(period)) return [...entries, u32(key("attention.sliding_window_pattern"), period)];
  }
  throw new LoomError(`${origin}: layer_types ${JSON.stringify(types)} are not periodic, which a GGUF gemma3 file cannot say`);
}
