/**
 * Training throughput as a ratio to forward-only speed, on the shipped model's shape
 * (the yardstick: a training step ideally costs about three forward passes).
 * Run alone: `node dist/bench/training.js [--steps 3] [--threads 2]`.
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { AdamW, clipGradNorm } from "../src/train/adamw.js";
import { TrainModel } from "../src/train/model.js";
import { Rng } from "../src/train/rng.js";
import { DEFAULT_TRAIN_OPTIONS, modelConfigOf } from "../src/train/trainer.js";

export interface TrainingBench {
  shape: string;
  forwardTokensPerSecond: number;
  trainTokensPerSecond: number;
  /** How many forward passes one training step costs. */
  stepInForwards: number;
}

function bestRate(tokens: number, repeat: number, work: () => void): number {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    work();
    best = Math.min(best, performance.now() - t0);
  }
  return tokens / (best / 1000);
}

export function benchTraining(options: { steps?: number; threads?: number } = {}): TrainingBench {
  const o = DEFAULT_TRAIN_OPTIONS;
  const config = modelConfigOf({ ...o, vocabSize: 4096 });
  const B = o.batch, T = o.seqLen, N = B * T;
  const model = new TrainModel(config, { batch: B, seqLen: T, threads: options.threads ?? 2 });
  try {
    const rng = new Rng(1);
    model.initialize(rng);
    const tokens = new Int32Array(N), targets = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      tokens[i] = (i * 7919 + 13) % config.vocabSize;
      targets[i] = (i * 104729 + 7) % config.vocabSize;
    }
    const opt = new AdamW(model.table, { beta1: o.beta1, beta2: o.beta2, eps: 1e-8, weightDecay: o.weightDecay });
    const steps = options.steps ?? 3;
    model.forward(tokens, targets, B, T); // warm-up: workers, caches
    const forwardTokensPerSecond = bestRate(N, steps, () => model.forward(tokens, targets, B, T));
    const trainTokensPerSecond = bestRate(N, steps, () => {
      model.zeroGrad();
      model.forward(tokens, targets, B, T);
      model.backward(1);
      clipGradNorm(model.grads, o.gradClip);
      opt.update(model.params, model.grads, 1e-4);
    });
    const shape = `dim ${config.dim}, ${config.nLayers} layers, ${config.nHeads}/${config.nKVHeads} heads, vocab ${config.vocabSize}, batch ${B} × ${T} tokens`;
    return { shape, forwardTokensPerSecond, trainTokensPerSecond, stepInForwards: forwardTokensPerSecond / trainTokensPerSecond };
  } finally {
    model.dispose();
  }
}

export function describeTraining(r: TrainingBench): string {
  return `training (${r.shape}): ${r.trainTokensPerSecond.toFixed(0)} tokens/s per optimizer step vs ` +
    `${r.forwardTokensPerSecond.toFixed(0)} tokens/s forward-only — a step costs ${r.stepInForwards.toFixed(2)} forward passes`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { steps: { type: "string" }, threads: { type: "string" } } });
  console.log(describeTraining(benchTraining({ steps: values.steps ? Number(values.steps) : undefined, threads: values.threads ? Number(values.threads) : undefined })));
  process.exit(0);
}
