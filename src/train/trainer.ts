import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { AdamW, clipGradNorm } from "./adamw.js";
import { BpeEncoder, type BpeVocab } from "./bpe.js";
import { trainBpe } from "./bpe-trainer.js";
import { loadCheckpoint, saveCheckpoint, type HistoryPoint } from "./checkpoint.js";
import { defaultThreads } from "./compute.js";
import { paramCount, validateConfig, type TrainModelConfig } from "./config.js";
import { loadDocuments, sampleBatch, splitDocuments, tokenizeDocuments, validationWindows } from "./data.js";
import { EOS_TOKEN, exportGGUF, exportHF } from "./export.js";
import { lossCurveSvg } from "./loss-plot.js";
import { TrainModel } from "./model.js";
import { Rng } from "./rng.js";
import { learningRate } from "./schedule.js";
import { tokenizerJson, vocabFromTokenizerJson } from "./tokenizer-json.js";

export interface TrainOptions {
  /** Comma-separated corpora: "moby-dick", "sotu", or text file paths. */
  data: string;
  /** Output folder: checkpoint, loss curve, and at the end an HF folder (+ GGUF). */
  out: string;
  name: string;
  vocabSize: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** SwiGLU width; 0 picks ≈ 8/3·dim rounded up to a multiple of 32. */
  hidden: number;
  seqLen: number;
  ropeTheta: number;
  normEps: number;
  steps: number;
  batch: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  accum: number;
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  gradClip: number;
  evalEvery: number;
  evalWindows: number;
  /** Validation windows for the final evaluation (the reported perplexity). */
  finalEvalWindows: number;
  checkpointEvery: number;
  seed: number;
  threads: number;
  exportDtype: "f16" | "f32";
  gguf: boolean;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  data: "moby-dick,sotu",
  out: "runs/loom-tiny",
  name: "loom-tiny",
  vocabSize: 4096,
  dim: 256,
  layers: 4,
  heads: 4,
  kvHeads: 2,
  hidden: 0,
  seqLen: 256,
  ropeTheta: 10000,
  normEps: 1e-5,
  steps: 600,
  batch: 8,
  accum: 1,
  lr: 1.5e-3,
  minLr: 1.5e-4,
  warmup: 30,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1,
  evalEvery: 50,
  evalWindows: 64,
  finalEvalWindows: 512,
  checkpointEvery: 25,
  seed: 1337,
  threads: 0,
  exportDtype: "f16",
  gguf: true,
};

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  tokensSeen: number;
  elapsedSeconds: number;
}

export interface TrainHooks {
  log?(line: string): void;
  onStart?(info: { startStep: number; steps: number; numParams: number; trainTokens: number; validationTokens: number; config: TrainModelConfig }): void;
  onStep?(info: StepInfo): void;
  onEval?(info: { step: number; valLoss: number }): void;
  /** Polled between steps; true stops the run after saving a checkpoint. */
  shouldStop?(): boolean;
}

export interface TrainSummary {
  stepsDone: number;
  finished: boolean;
  finalTrainLoss: number;
  valLoss: number;
  valPerplexity: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  numParams: number;
  checkpoint: string;
}

export const CHECKPOINT_FILE = "checkpoint.bin";

export function modelConfigOf(o: TrainOptions): TrainModelConfig {
  const hidden = o.hidden > 0 ? o.hidden : 32 * Math.ceil((8 * o.dim) / 3 / 32);
  return {
    vocabSize: o.vocabSize, dim: o.dim, nLayers: o.layers, nHeads: o.heads, nKVHeads: o.kvHeads, hiddenDim: hidden,
    maxSeqLen: o.seqLen, ropeTheta: o.ropeTheta, normEps: o.normEps,
  };
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

/** The tokenizer of the run: read from the output folder, or trained on the training split. */
function prepareTokenizer(o: TrainOptions, log: (s: string) => void): BpeVocab {
  const path = join(o.out, "tokenizer.json");
  if (existsSync(path)) return vocabFromTokenizerJson(JSON.parse(readFileSync(path, "utf8")));
  log(`training a ${o.vocabSize}-token byte-level BPE on ${o.data}…`);
  const { train } = splitDocuments(loadDocuments(o.data));
  const vocab = trainBpe(train.map((d) => d.text), { vocabSize: o.vocabSize, specialTokens: [EOS_TOKEN] });
  writeFileSync(path, JSON.stringify(tokenizerJson(vocab)) + "\n");
  return vocab;
}

/** Token streams for both splits, cached in the output folder (tokenizing takes a while). */
function prepareData(o: TrainOptions, vocab: BpeVocab, log: (s: string) => void): { train: Int32Array; validation: Int32Array } {
  const path = join(o.out, "tokens.bin");
  const key = JSON.stringify({ data: o.data, tokenizer: fnv1a(JSON.stringify(vocab.merges)) });
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8")) as { key: string; train: number; validation: number };
    if (header.key === key) {
      const ids = new Int32Array(bytes.buffer.slice(bytes.byteOffset + 4 + headerLength, bytes.byteOffset + bytes.length));
      return { train: ids.subarray(0, header.train), validation: ids.subarray(header.train, header.train + header.validation) };
    }
  }
  log(`tokenizing ${o.data}…`);
  const encoder = new BpeEncoder(vocab);
  const eos = vocab.specials.get(EOS_TOKEN)!;
  const split = splitDocuments(loadDocuments(o.data));
  const train = tokenizeDocuments(split.train, encoder, eos);
  const validation = tokenizeDocuments(split.validation, encoder, eos);
  let header = JSON.stringify({ key, train: train.length, validation: validation.length });
  header += " ".repeat((4 - (Buffer.byteLength(header) % 4)) % 4);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(Buffer.byteLength(header));
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header), Buffer.from(train.buffer), Buffer.from(validation.buffer)]));
  return { train, validation };
}

/** Mean loss over the validation windows, B at a time. */
export function evaluate(model: TrainModel, stream: Int32Array, T: number, windows: number): number {
  const starts = validationWindows(stream, T, windows);
  const B = model.maxB;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  let total = 0;
  for (let i = 0; i < starts.length; i += B) {
    const n = Math.min(B, starts.length - i);
    for (let b = 0; b < n; b++) {
      tokens.set(stream.subarray(starts[i + b], starts[i + b] + T), b * T);
      targets.set(stream.subarray(starts[i + b] + 1, starts[i + b] + T + 1), b * T);
    }
    total += model.forward(tokens, targets, n, T) * n;
  }
  return total / starts.length;
}

/**
 * Trains (or, with `resume`, continues) a model as `options` say, writing checkpoints and the
 * loss curve to options.out; when the last step is done, exports the HF folder (and GGUF).
 */
export async function train(options: TrainOptions, hooks: TrainHooks = {}, resume = false): Promise<TrainSummary> {
  const log = hooks.log ?? (() => {});
  const checkpointPath = join(options.out, CHECKPOINT_FILE);
  const saved = resume ? loadCheckpoint(checkpointPath) : undefined;
  // A resumed run keeps its original options, except a new step count (which reshapes the schedule).
  const o: TrainOptions = saved ? { ...(saved.meta.options as unknown as TrainOptions), steps: options.steps, out: options.out, threads: options.threads } : options;
  if (!saved && existsSync(checkpointPath)) {
    throw new LoomError(`${checkpointPath} exists: pass --resume to continue that run, or choose another --out`);
  }
  for (const k of ["steps", "batch", "accum", "seqLen", "evalEvery", "checkpointEvery", "evalWindows", "finalEvalWindows"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new LoomError(`train: --${k} must be a positive integer, got ${o[k]}`);
  }
  if (!(o.lr > 0) || !(o.minLr >= 0) || !(o.warmup >= 0)) throw new LoomError("train: lr must be positive, min-lr and warmup non-negative");
  validateConfig(saved ? saved.meta.config : modelConfigOf(o)); // fail before the slow tokenizer work
  mkdirSync(o.out, { recursive: true });

  const vocab = prepareTokenizer(o, log);
  if (vocab.tokens.length !== o.vocabSize) throw new LoomError(`train: ${join(o.out, "tokenizer.json")} has ${vocab.tokens.length} tokens but the run wants ${o.vocabSize}`);
  const data = prepareData(o, vocab, log);
  const config = saved ? saved.meta.config : modelConfigOf(o);
  const threads = o.threads > 0 ? o.threads : defaultThreads();
  const model = new TrainModel(config, { batch: o.batch, seqLen: o.seqLen, threads });
  const opt = new AdamW(model.table, { beta1: o.beta1, beta2: o.beta2, eps: 1e-8, weightDecay: o.weightDecay });
  const rng = new Rng(o.seed);
  let step = 0;
  let tokensSeen = 0;
  let elapsed = 0;
  let history: HistoryPoint[] = [];
  if (saved) {
    if (saved.params.length !== model.numParams) throw new LoomError(`${checkpointPath}: holds ${saved.params.length} parameters, the model has ${model.numParams}`);
    model.params.set(saved.params);
    opt.m.set(saved.adamM);
    opt.v.set(saved.adamV);
    opt.step = saved.meta.step;
    step = saved.meta.step;
    rng.setState(saved.meta.rng);
    tokensSeen = saved.meta.tokensSeen;
    elapsed = saved.meta.elapsedSeconds;
    history = saved.meta.history;
    log(`resuming ${checkpointPath} at step ${step}`);
  } else {
    model.initialize(rng);
  }
  const startStep = step;
  hooks.onStart?.({ startStep, steps: o.steps, numParams: paramCount(config), trainTokens: data.train.length, validationTokens: data.validation.length, config });

  const save = (): void => {
    saveCheckpoint(checkpointPath, {
      meta: { format: "loom-train-checkpoint-1", step, config, options: { ...o } as unknown as Record<string, unknown>, rng: rng.getState(), tokensSeen, elapsedSeconds: elapsed, history },
      params: Float32Array.from(model.params),
      adamM: opt.m,
      adamV: opt.v,
    });
    const note = `validation: the first ${o.evalWindows} windows of ${o.seqLen} held-out tokens; at the last step ${o.finalEvalWindows} windows`;
    writeFileSync(join(o.out, "loss.svg"), lossCurveSvg(history, `${o.name}: ${paramCount(config).toLocaleString("en-US")} parameters`, note));
  };

  const T = o.seqLen;
  const tokens = new Int32Array(o.batch * T);
  const targets = new Int32Array(o.batch * T);
  const schedule = { lr: o.lr, minLr: o.minLr, warmup: o.warmup, total: o.steps };
  let lastLoss = NaN;
  let lastVal = NaN;
  let stopped = false;
  let runTokens = 0;
  let runSeconds = 0;
  try {
    while (step < o.steps) {
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      const t0 = performance.now();
      const lr = learningRate(step, schedule);
      model.zeroGrad();
      let loss = 0;
      for (let micro = 0; micro < o.accum; micro++) {
        sampleBatch(data.train, o.batch, T, rng, tokens, targets);
        loss += model.forward(tokens, targets, o.batch, T) / o.accum;
        model.backward(1 / o.accum);
      }
      if (!Number.isFinite(loss)) throw new LoomError(`train: the loss became ${loss} at step ${step + 1}; lower --lr`);
      const gradNorm = clipGradNorm(model.grads, o.gradClip);
      opt.update(model.params, model.grads, lr);
      step++;
      const seconds = (performance.now() - t0) / 1000;
      const stepTokens = o.batch * T * o.accum;
      tokensSeen += stepTokens;
      elapsed += seconds;
      runTokens += stepTokens;
      runSeconds += seconds;
      lastLoss = loss;
      const point: HistoryPoint = { step, loss, lr, gradNorm };
      history.push(point);
      hooks.onStep?.({ step, steps: o.steps, loss, lr, gradNorm, tokensPerSecond: stepTokens / seconds, tokensSeen, elapsedSeconds: elapsed });
      if (step % o.evalEvery === 0 || step === o.steps) {
        const t1 = performance.now();
        lastVal = evaluate(model, data.validation, T, step === o.steps ? o.finalEvalWindows : o.evalWindows);
        elapsed += (performance.now() - t1) / 1000;
        point.valLoss = lastVal;
        hooks.onEval?.({ step, valLoss: lastVal });
      }
      if (step % o.checkpointEvery === 0 || step === o.steps) save();
      // Let signals and the progress bar through between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (stopped || step === startStep) save();
    const finished = step >= o.steps;
    if (finished) {
      const name = o.name;
      exportHF(o.out, { config, params: model.params, vocab, name }, o.exportDtype);
      if (o.gguf) exportGGUF(join(o.out, `${name}.gguf`), { config, params: model.params, vocab, name }, "f32");
      log(`exported ${o.out}/model.safetensors${o.gguf ? ` and ${o.out}/${name}.gguf` : ""}`);
    }
    if (!Number.isFinite(lastVal)) lastVal = evaluate(model, data.validation, T, o.evalWindows);
    return {
      stepsDone: step, finished, finalTrainLoss: lastLoss, valLoss: lastVal, valPerplexity: Math.exp(lastVal),
      tokensPerSecond: runSeconds > 0 ? runTokens / runSeconds : 0, elapsedSeconds: elapsed, numParams: paramCount(config), checkpoint: checkpointPath,
    };
  } finally {
    model.dispose();
  }
}
