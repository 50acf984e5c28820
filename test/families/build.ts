/** Building the fixture families through the registry (as loadCausalLM does), and comparing runs. */
import { architectureForGGUF, architectureForHFConfig } from "../../src/models/registry.js";
import type { CacheOptions, CausalLM } from "../../src/models/types.js";
import { llama3RopeFactors, ropeInvFreq } from "../../src/kernels/rope.js";
import { memorySource, type Tensors } from "../models/fixtures.js";
import { ggufMetadata, hfConfig, toGGUFTensors, type Spec } from "./fixtures.js";

export function hfModel(s: Spec, weights: Tensors, configPatch: Record<string, unknown> = {}): CausalLM {
  const json = { ...hfConfig(s), ...configPatch };
  const arch = architectureForHFConfig(json, "config.json");
  return arch.build(arch.configFromHF(json, "config.json"), memorySource("hf", weights), "hf");
}

/** The GGUF twin's tensors, with llama3 scaling as the `rope_freqs` tensor llama.cpp's converter writes. */
export function ggufTensors(s: Spec, weights: Tensors): Tensors {
  const tensors = toGGUFTensors(s, weights);
  const r = s.ropeScaling;
  if (r?.rope_type === "llama3") {
    const factors = llama3RopeFactors(ropeInvFreq(s.headDim, s.theta), {
      factor: r.factor as number, lowFreqFactor: r.low_freq_factor as number,
      highFreqFactor: r.high_freq_factor as number, originalMaxPositions: r.original_max_position_embeddings as number,
    });
    tensors.set("rope_freqs.weight", { shape: [factors.length], data: Float32Array.from(factors) });
  }
  return tensors;
}

export function ggufModel(s: Spec, weights: Tensors): CausalLM {
  const source = memorySource("model.gguf", ggufTensors(s, weights), ggufMetadata(s));
  const arch = architectureForGGUF(source);
  return arch.build(arch.configFromGGUF!(source), source, "gguf");
}

/** Logits of every position from one forward call. */
export async function oneShot(model: CausalLM, tokens: number[], cache: CacheOptions = {}, prefillChunk?: number): Promise<Float32Array> {
  return model.forward(tokens, 0, model.createCache(cache), { logits: "all", prefillChunk });
}

/** Logits of every position, fed as consecutive calls of the given sizes (1 = decode steps). */
export async function inCalls(model: CausalLM, tokens: number[], sizes: number[], cache: CacheOptions = {}): Promise<Float32Array> {
  const vocab = model.config.vocabSize;
  const out = new Float32Array(tokens.length * vocab);
  const kv = model.createCache(cache);
  let pos = 0;
  for (const size of sizes) {
    const logits = await model.forward(tokens.slice(pos, pos + size), pos, kv, { logits: "all" });
    out.set(logits, pos * vocab);
    pos += size;
  }
  if (pos !== tokens.length) throw new Error("call sizes do not cover the tokens");
  return out;
}

/** Sizes: a prefill of `first`, then single-token decode steps up to `total`. */
export function prefillThenDecode(first: number, total: number): number[] {
  return [first, ...Array<number>(total - first).fill(1)];
}
