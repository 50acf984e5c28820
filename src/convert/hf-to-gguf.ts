/**
 * An HF folder (config.json + safetensors + tokenizer files) → one GGUF file that llama.cpp and
 * Loom both load: `general.*` keys, the architecture's hyperparameters, the tokenizer, and every
 * tensor renamed, rearranged and stored in the requested type (see dtype-policy.ts).
 */
import { basename, resolve } from "node:path";
import { LoomError } from "../errors.js";
import { inspectCheckpoint } from "../models/load.js";
import { architectureForHFConfig } from "../models/registry.js";
import type { JsonObject } from "../models/fields.js";
import { quantize } from "../tensor/dtypes.js";
import type { DType } from "../tensor/tensor.js";
import type { TensorToWrite } from "../weights/encode.js";
import { openSafetensorsFolder } from "../weights/safetensors.js";
import type { WeightSource } from "../weights/source.js";
import { convertedDType, FILE_TYPES, QUANTIZATION_VERSION } from "./dtype-policy.js";
import { planGPT2 } from "./gpt2.js";
import { planGemma3 } from "./gemma3.js";
import { planLlama } from "./llama.js";
import { planQwen3 } from "./qwen3.js";
import { str, u32, type ConversionPlan } from "./plan.js";
import { tokenizerMetadata } from "./tokenizer-metadata.js";
import { writeGGUFAtomically, type ConvertResult } from "./write.js";

export interface ConvertOptions {
  /** Storage type for the matrices (default f16, as convert_hf_to_gguf.py). */
  dtype?: DType;
  /** `general.name`; defaults to the folder's name. */
  name?: string;
}

type Planner = (json: JsonObject, origin: string, source: WeightSource) => ConversionPlan;

const PLANNERS: Record<string, Planner> = {
  gpt2: planGPT2,
  llama: (json, origin, source) => planLlama(json, origin, source, "llama"),
  mistral: (json, origin, source) => planLlama(json, origin, source, "mistral"),
  qwen2: (json, origin, source) => planLlama(json, origin, source, "qwen2"),
  qwen3: planQwen3,
  gemma3: planGemma3,
};

export function convertHFToGGUF(folder: string, outPath: string, options: ConvertOptions = {}): ConvertResult {
  const dtype = options.dtype ?? "f16";
  const checkpoint = inspectCheckpoint(folder);
  if (checkpoint.format !== "hf") throw new LoomError(`${folder}: not an HF model folder`);
  const json = checkpoint.hfConfig!;
  const origin = checkpoint.configPath!;
  const architecture = architectureForHFConfig(json, origin).name;
  const planner = PLANNERS[architecture];
  if (!planner) throw new LoomError(`${origin}: converting ${architecture} is not supported (${Object.keys(PLANNERS).join(", ")})`);

  const source = openSafetensorsFolder(folder);
  try {
    const plan = planner(json, origin, source);
    const vocabSize = plan.tensors.find((t) => t.name === "token_embd.weight")!.shape[0];
    const metadata = [
      str("general.architecture", plan.architecture),
      str("general.type", "model"),
      str("general.name", options.name ?? basename(resolve(folder))),
      ...plan.metadata,
      u32("general.file_type", FILE_TYPES[dtype]),
      u32("general.quantization_version", QUANTIZATION_VERSION),
      ...tokenizerMetadata(folder, {
        vocabSize,
        bosTokenId: plan.bosTokenId,
        eosTokenId: plan.eosTokenId,
        copyAddPrefixSpace: plan.architecture === "llama",
      }),
    ];
    // Each tensor is rearranged and encoded in turn, so only its output bytes stay in memory.
    const tensors: TensorToWrite[] = plan.tensors.map((t) => {
      const stored = convertedDType(t.name, t.shape, dtype);
      return { name: t.name, dtype: stored, shape: t.shape, data: quantize(t.values(), stored, t.shape[t.shape.length - 1]) };
    });
    return { ...writeGGUFAtomically(outPath, { metadata, tensors }), architecture: plan.architecture, warnings: plan.warnings };
  } finally {
    source.close?.();
  }
}
