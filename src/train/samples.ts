import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { dequantize } from "../tensor/dtypes.js";
import { openSafetensors } from "../weights/safetensors.js";
import { BpeEncoder } from "./bpe.js";
import type { TrainModelConfig } from "./config.js";
import { EOS_TOKEN } from "./export.js";
import { generateIds } from "./generate.js";
import { TrainModel } from "./model.js";
import { Rng } from "./rng.js";
import { vocabFromTokenizerJson } from "./tokenizer-json.js";

export interface Continuation {
  prompt: string;
  greedy: string;
  sampled: string;
}

/** The trainer's config from an exported config.json (the fields exportHF writes). */
export function configFromHF(hf: Record<string, unknown>): TrainModelConfig {
  const n = (key: string): number => {
    const v = hf[key];
    if (typeof v !== "number") throw new LoomError(`config.json: '${key}' is missing or not a number`);
    return v;
  };
  return {
    vocabSize: n("vocab_size"), dim: n("hidden_size"), nLayers: n("num_hidden_layers"), nHeads: n("num_attention_heads"),
    nKVHeads: n("num_key_value_heads"), hiddenDim: n("intermediate_size"), maxSeqLen: n("max_position_embeddings"),
    ropeTheta: n("rope_theta"), normEps: n("rms_norm_eps"),
  };
}

/** Loads an exported HF folder (as written by `loom train`) into the trainer's model. */
export function loadExported(dir: string, options: { batch: number; threads?: number }): { model: TrainModel; encoder: BpeEncoder } {
  const config = configFromHF(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")));
  const vocab = vocabFromTokenizerJson(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")));
  const model = new TrainModel(config, { batch: options.batch, seqLen: config.maxSeqLen, threads: options.threads ?? 1 });
  const source = openSafetensors(join(dir, "model.safetensors"));
  try {
    for (const e of model.table) model.params.set(dequantize(source.get(e.name)), e.offset);
  } finally {
    source.close?.();
  }
  return { model, encoder: new BpeEncoder(vocab) };
}

/**
 * Greedy and sampled continuations of each prompt from the exported folder `dir` (the exact
 * shipped weights, f16 included), computed with the trainer's own forward pass.
 */
export function sampleContinuations(
  dir: string, prompts: string[], o: { maxNewTokens: number; temperature: number; topK: number; seed: number },
): Continuation[] {
  const { model, encoder } = loadExported(dir, { batch: 1 });
  const eos = encoder.vocab.specials.get(EOS_TOKEN);
  try {
    const rng = new Rng(o.seed);
    return prompts.map((prompt) => {
      const ids = encoder.encode(prompt);
      const text = (temperature: number): string => {
        const out = generateIds(model, ids, { maxNewTokens: o.maxNewTokens, temperature, topK: o.topK, rng, stopId: eos });
        return encoder.decode(out.filter((id) => id !== eos));
      };
      return { prompt, greedy: text(0), sampled: text(o.temperature) };
    });
  } finally {
    model.dispose();
  }
}
