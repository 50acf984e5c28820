// The "Beyond" experiments of docs/experiments.md: small models trained with Loom's own trainer,
// one block choice changed at a time (norm placement, MLP, position encoding), same seed, data and
// token budget for every arm.
//
//   node dist/scripts/experiments.js [--only arm,arm] [--steps 250] [--threads 2]
//
// Each arm's curve and evaluation go to runs/experiments/<arm>.json (so an interrupted session
// can run the rest with --only); the plots are rebuilt from whatever JSON is there.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdamW, clipGradNorm } from "../src/train/adamw.js";
import { BpeEncoder } from "../src/train/bpe.js";
import { loadDocuments, sampleBatch, splitDocuments, tokenizeDocuments, validationWindows } from "../src/train/data.js";
import { EOS_TOKEN } from "../src/train/export.js";
import { Rng } from "../src/train/rng.js";
import { learningRate } from "../src/train/schedule.js";
import { vocabFromTokenizerJson } from "../src/train/tokenizer-json.js";
import { LLAMA_VARIANT, type Variant, type VariantConfig } from "../src/train/variants/config.js";
import { VariantModel } from "../src/train/variants/model.js";
import { comparisonSvg, smoothed, type Series } from "../src/train/variants/plot.js";

const RUNS = "runs/experiments";
const PLOTS = "docs/experiments";
const DIM = 128, LAYERS = 4, HEADS = 4;
const SWIGLU_HIDDEN = 352; // 8/3 · 128 rounded up to a multiple of 32, as `loom train` does
const GELU_HIDDEN = 528; // 1.5 × 352: the same MLP parameter count (2·C·528 = 3·C·352)
const TRAIN_T = 64, BATCH = 16, SEED = 1234;
const EVAL_LENGTHS = [64, 128, 256];
const EVAL_TOKENS = 32768; // per evaluation length: 512 windows of 64, 128 of 256
const CURVE_EVAL_WINDOWS = 64;

interface Arm {
  name: string;
  label: string;
  variant: Variant;
  hidden: number;
  lr: number;
  warmup: number;
  layers?: number;
}

const ARMS: Arm[] = [
  { name: "pre", label: "pre-norm (Llama)", variant: LLAMA_VARIANT, hidden: SWIGLU_HIDDEN, lr: 2e-3, warmup: 25 },
  { name: "post", label: "post-norm", variant: { ...LLAMA_VARIANT, norm: "post" }, hidden: SWIGLU_HIDDEN, lr: 2e-3, warmup: 25 },
  { name: "pre-hot", label: "pre-norm, lr 1e-2, no warmup", variant: LLAMA_VARIANT, hidden: SWIGLU_HIDDEN, lr: 1e-2, warmup: 0 },
  { name: "post-hot", label: "post-norm, lr 1e-2, no warmup", variant: { ...LLAMA_VARIANT, norm: "post" }, hidden: SWIGLU_HIDDEN, lr: 1e-2, warmup: 0 },
  { name: "pre-deep", label: "pre-norm, 8 layers, no warmup", variant: LLAMA_VARIANT, hidden: SWIGLU_HIDDEN, lr: 2e-3, warmup: 0, layers: 8 },
  { name: "post-deep", label: "post-norm, 8 layers, no warmup", variant: { ...LLAMA_VARIANT, norm: "post" }, hidden: SWIGLU_HIDDEN, lr: 2e-3, warmup: 0, layers: 8 },
  { name: "gelu", label: "GELU MLP (hidden 528)", variant: { ...LLAMA_VARIANT, mlp: "gelu" }, hidden: GELU_HIDDEN, lr: 2e-3, warmup: 25 },
  { name: "learned", label: "learned positions (table 256)", variant: { ...LLAMA_VARIANT, positions: "learned" }, hidden: SWIGLU_HIDDEN, lr: 2e-3, warmup: 25 },
];

interface ArmResult {
  name: string;
  label: string;
  params: number;
  steps: number;
  seconds: number;
  train: number[]; // loss per step
  gradNorm: number[];
  val: [number, number][]; // (step, validation loss at length 64)
  /** Validation loss over all positions, by evaluation length. */
  evalLoss: Record<string, number>;
  /** Mean loss at each position 0..255 of the length-256 evaluation. */
  positionLoss: number[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function loadStreams(): { train: Int32Array; validation: Int32Array; vocabSize: number } {
  const vocab = vocabFromTokenizerJson(JSON.parse(readFileSync("models/loom-tiny/tokenizer.json", "utf8")));
  const cache = join(RUNS, "tokens.json");
  if (existsSync(cache)) {
    const c = JSON.parse(readFileSync(cache, "utf8")) as { train: number[]; validation: number[] };
    return { train: Int32Array.from(c.train), validation: Int32Array.from(c.validation), vocabSize: vocab.tokens.length };
  }
  const encoder = new BpeEncoder(vocab);
  const eos = vocab.specials.get(EOS_TOKEN)!;
  const split = splitDocuments(loadDocuments("moby-dick,sotu"));
  const train = tokenizeDocuments(split.train, encoder, eos);
  const validation = tokenizeDocuments(split.validation, encoder, eos);
  writeFileSync(cache, JSON.stringify({ train: Array.from(train), validation: Array.from(validation) }));
  return { train, validation, vocabSize: vocab.tokens.length };
}

/** Mean validation loss over consecutive windows of length T, and the mean loss at each position. */
function evaluateByPosition(model: VariantModel, stream: Int32Array, T: number, windows: number): { loss: number; byPosition: number[] } {
  const starts = validationWindows(stream, T, windows);
  const B = model.maxB;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const sum = new Float64Array(T);
  for (let i = 0; i < starts.length; i += B) {
    const n = Math.min(B, starts.length - i);
    for (let b = 0; b < n; b++) {
      tokens.set(stream.subarray(starts[i + b], starts[i + b] + T), b * T);
      targets.set(stream.subarray(starts[i + b] + 1, starts[i + b] + T + 1), b * T);
    }
    model.forward(tokens, targets, n, T);
    const losses = model.positionLosses();
    for (let k = 0; k < n * T; k++) sum[k % T] += losses[k];
  }
  const byPosition = Array.from(sum, (s) => s / starts.length);
  return { loss: byPosition.reduce((a, b) => a + b, 0) / T, byPosition };
}

function runArm(arm: Arm, data: { train: Int32Array; validation: Int32Array; vocabSize: number }, steps: number, threads: number): ArmResult {
  const config: VariantConfig = {
    vocabSize: data.vocabSize, dim: DIM, nLayers: arm.layers ?? LAYERS, nHeads: HEADS, nKVHeads: HEADS, hiddenDim: arm.hidden,
    maxSeqLen: Math.max(...EVAL_LENGTHS), ropeTheta: 10000, normEps: 1e-5, variant: arm.variant,
  };
  // Allocated for the longest evaluation; training only ever runs length 64.
  const model = new VariantModel(config, { batch: BATCH, seqLen: Math.max(...EVAL_LENGTHS), threads });
  const rng = new Rng(SEED);
  model.initialize(rng);
  const dataRng = new Rng(SEED + 1); // the same batches for every arm, whatever the init drew
  const opt = new AdamW(model.table);
  const tokens = new Int32Array(BATCH * TRAIN_T);
  const targets = new Int32Array(BATCH * TRAIN_T);
  const result: ArmResult = {
    name: arm.name, label: arm.label, params: model.numParams, steps, seconds: 0, train: [], gradNorm: [], val: [], evalLoss: {}, positionLoss: [],
  };
  const started = Date.now();
  for (let step = 0; step < steps; step++) {
    sampleBatch(data.train, BATCH, TRAIN_T, dataRng, tokens, targets);
    model.zeroGrad();
    const loss = model.forward(tokens, targets, BATCH, TRAIN_T);
    model.backward();
    const norm = clipGradNorm(model.grads, 1);
    opt.update(model.params, model.grads, learningRate(step, { lr: arm.lr, minLr: arm.lr / 10, warmup: arm.warmup, total: steps }));
    result.train.push(loss);
    result.gradNorm.push(norm);
    if ((step + 1) % 50 === 0 || step + 1 === steps) {
      const v = evaluateByPosition(model, data.validation, TRAIN_T, CURVE_EVAL_WINDOWS).loss;
      result.val.push([step + 1, v]);
      console.log(`${arm.name} step ${step + 1}/${steps} loss ${loss.toFixed(3)} val ${v.toFixed(3)} |g| ${norm.toFixed(2)} ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  result.seconds = (Date.now() - started) / 1000;
  for (const T of EVAL_LENGTHS) {
    const e = evaluateByPosition(model, data.validation, T, EVAL_TOKENS / T);
    result.evalLoss[T] = e.loss;
    if (T === Math.max(...EVAL_LENGTHS)) result.positionLoss = e.byPosition;
  }
  console.log(`${arm.name}: ${JSON.stringify(result.evalLoss)} in ${result.seconds.toFixed(0)} s`);
  model.dispose();
  return result;
}

function trainSeries(r: ArmResult, color: string, dashed = false): Series {
  return { label: r.label, color, dashed, points: smoothed(r.train).map((v, i) => [i + 1, v]) };
}

function writePlots(results: Map<string, ArmResult>): void {
  const get = (n: string): ArmResult | undefined => results.get(n);
  const note = `dim ${DIM}, ${LAYERS} layers, seq ${TRAIN_T}, batch ${BATCH}; train loss, EMA 0.9; one seed`;
  const plot = (file: string, title: string, series: (Series | undefined)[], yMin: number, yMax: number, extra = note): void => {
    const s = series.filter((x): x is Series => x !== undefined);
    if (s.length) writeFileSync(join(PLOTS, file), comparisonSvg(s, { title, note: extra, xLabel: "optimizer step", yLabel: "cross-entropy (nats/token)", yMin, yMax }));
  };
  const opt = (n: string, color: string, dashed = false): Series | undefined => {
    const r = get(n);
    return r ? trainSeries(r, color, dashed) : undefined;
  };
  plot("norm.svg", "Pre-norm vs post-norm", [opt("pre", "#08519c"), opt("post", "#e6550d"), opt("pre-hot", "#6baed6", true), opt("post-hot", "#fd8d3c", true)], 4, 9);
  plot("norm-deep.svg", "Pre-norm vs post-norm, 8 layers, no warmup", [opt("pre-deep", "#08519c"), opt("post-deep", "#e6550d")], 4, 9,
    `dim ${DIM}, 8 layers, seq ${TRAIN_T}, batch ${BATCH}, lr 2e-3 from step 0; train loss, EMA 0.9; one seed`);
  plot("mlp.svg", "SwiGLU vs GELU MLP at matched parameters", [opt("pre", "#08519c"), opt("gelu", "#31a354")], 4, 9);
  plot("positions.svg", "RoPE vs learned absolute positions (training)", [opt("pre", "#08519c"), opt("learned", "#756bb1")], 4, 9);
  const bucket = 8;
  const perPos = (n: string, label: string, color: string): Series | undefined => {
    const r = get(n);
    if (!r || !r.positionLoss.length) return undefined;
    const pts: [number, number][] = [];
    for (let p = 0; p < r.positionLoss.length; p += bucket) {
      const slice = r.positionLoss.slice(p, p + bucket);
      pts.push([p + bucket / 2, slice.reduce((a, b) => a + b, 0) / slice.length]);
    }
    return { label, color, points: pts, dots: true };
  };
  const s = [perPos("pre", "RoPE", "#08519c"), perPos("learned", "learned positions", "#756bb1")].filter((x): x is Series => x !== undefined);
  if (s.length) {
    writeFileSync(join(PLOTS, "positions-by-position.svg"), comparisonSvg(s, {
      title: "Validation loss by position, sequences of 256 (trained on 64)",
      note: `mean over ${EVAL_TOKENS / 256} windows, in buckets of ${bucket} positions; positions ≥ 64 were never trained`,
      xLabel: "position in the sequence", yLabel: "cross-entropy (nats/token)", yMin: 4, yMax: 9, xMax: 256,
    }));
  }
}

function main(): void {
  const steps = Number(arg("steps", "250"));
  const threads = Number(arg("threads", "2"));
  const only = arg("only", "").split(",").filter(Boolean);
  mkdirSync(RUNS, { recursive: true });
  mkdirSync(PLOTS, { recursive: true });
  const data = loadStreams();
  console.log(`data: ${data.train.length} training and ${data.validation.length} validation tokens, vocabulary ${data.vocabSize}`);
  for (const arm of ARMS) {
    if (only.length && !only.includes(arm.name)) continue;
    const r = runArm(arm, data, steps, threads);
    writeFileSync(join(RUNS, `${arm.name}.json`), JSON.stringify(r));
  }
  const results = new Map<string, ArmResult>();
  for (const arm of ARMS) {
    const path = join(RUNS, `${arm.name}.json`);
    if (existsSync(path)) results.set(arm.name, JSON.parse(readFileSync(path, "utf8")) as ArmResult);
  }
  writePlots(results);
  console.log("\n| arm | params | val loss @64 | @128 | @256 | last-50 train loss | max grad norm | s |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results.values()) {
    const tail = r.train.slice(-50);
    const e = (T: number): string => r.evalLoss[T].toFixed(3);
    console.log(`| ${r.label} | ${r.params} | ${e(64)} | ${e(128)} | ${e(256)} | ${(tail.reduce((a, b) => a + b, 0) / tail.length).toFixed(3)} | ${Math.max(...r.gradNorm).toFixed(1)} | ${r.seconds.toFixed(0)} |`);
  }
  const pos = (r: ArmResult | undefined, a: number, b: number): string =>
    r ? (r.positionLoss.slice(a, b).reduce((x, y) => x + y, 0) / (b - a)).toFixed(3) : "-";
  console.log("\n| positions (eval at 256) | 0–63 | 64–127 | 128–255 |\n| --- | ---: | ---: | ---: |");
  for (const n of ["pre", "learned"]) {
    const r = results.get(n);
    if (r) console.log(`| ${r.label} | ${pos(r, 0, 64)} | ${pos(r, 64, 128)} | ${pos(r, 128, 256)} |`);
  }
}

main();
