/**
 * `loom train`: trains a small Llama-style model from scratch (BPE tokenizer included) with a
 * progress bar, periodic checkpoints, resume, a loss-curve SVG, and HF + GGUF export at the end.
 */
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { LoomError } from "../errors.js";
import { intFlag, numberFlag } from "./args.js";
import { DEFAULT_TRAIN_OPTIONS, train, type TrainOptions } from "../train/trainer.js";
import { sampleContinuations } from "../train/samples.js";

const D = DEFAULT_TRAIN_OPTIONS;
const HELP = `usage: loom train [options]

Trains a Llama-style model (RMSNorm, RoPE, SwiGLU, tied embeddings) and its byte-level BPE
tokenizer from scratch. Writes into --out: checkpoint.bin (weights, AdamW state, step, rng),
loss.svg, and when done an HF folder (config.json, model.safetensors, tokenizer.json, …) + GGUF.

data and output
  --data SPEC           comma-separated: moby-dick, sotu, or text files (default ${D.data})
  --out DIR             output folder (default ${D.out})
  --name NAME           model name in the exported files (default ${D.name})
  --resume              continue the run in --out from its checkpoint (its options are kept;
                        --steps and --threads may be changed)
model
  --vocab N             BPE vocabulary incl. <|endoftext|> (default ${D.vocabSize})
  --dim N --layers N --heads N --kv-heads N     (default ${D.dim}, ${D.layers}, ${D.heads}, ${D.kvHeads})
  --hidden N            SwiGLU width (default ≈ 8/3·dim)
  --seq-len N           training context (default ${D.seqLen})
optimization
  --steps N             optimizer steps (default ${D.steps})
  --batch N             sequences per micro-batch (default ${D.batch})
  --accum N             micro-batches per step (gradient accumulation, default ${D.accum})
  --lr X --min-lr X     peak and final learning rate (default ${D.lr}, ${D.minLr})
  --warmup N            linear warmup steps, then cosine decay (default ${D.warmup})
  --weight-decay X      AdamW decay on projection matrices (default ${D.weightDecay})
  --grad-clip X         clip the global gradient norm (default ${D.gradClip}; 0 = off)
  --seed N              data order and init (default ${D.seed})
  --threads N           worker threads (default: one per core)
bookkeeping
  --eval-every N        validation loss every N steps (default ${D.evalEvery})
  --eval-windows N      validation windows of --seq-len tokens (default ${D.evalWindows})
  --final-eval-windows N  windows for the final, reported validation loss (default ${D.finalEvalWindows})
  --checkpoint-every N  (default ${D.checkpointEvery})
  --dtype f16|f32       safetensors dtype (default ${D.exportDtype}); the GGUF is always f32
  --no-gguf             skip the GGUF export
  --samples             print greedy and sampled continuations at the end
  --samples-only        only print continuations from the exported folder --out`;

const SAMPLE_PROMPTS = ["Call me Ishmael.", "The state of the Union", "The whale"];

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string" }, out: { type: "string" }, name: { type: "string" }, resume: { type: "boolean" },
      vocab: { type: "string" }, dim: { type: "string" }, layers: { type: "string" }, heads: { type: "string" },
      "kv-heads": { type: "string" }, hidden: { type: "string" }, "seq-len": { type: "string" },
      steps: { type: "string" }, batch: { type: "string" }, accum: { type: "string" }, lr: { type: "string" },
      "min-lr": { type: "string" }, warmup: { type: "string" }, "weight-decay": { type: "string" },
      "grad-clip": { type: "string" }, seed: { type: "string" }, threads: { type: "string" },
      "eval-every": { type: "string" }, "eval-windows": { type: "string" }, "final-eval-windows": { type: "string" }, "checkpoint-every": { type: "string" },
      dtype: { type: "string" }, "no-gguf": { type: "boolean" }, samples: { type: "boolean" }, "samples-only": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.dtype !== undefined && values.dtype !== "f16" && values.dtype !== "f32") throw new LoomError(`--dtype expects f16 or f32, got '${values.dtype}'`);
  const options: TrainOptions = {
    data: values.data ?? D.data,
    out: values.out ?? D.out,
    name: values.name ?? D.name,
    vocabSize: intFlag("vocab", values.vocab) ?? D.vocabSize,
    dim: intFlag("dim", values.dim) ?? D.dim,
    layers: intFlag("layers", values.layers) ?? D.layers,
    heads: intFlag("heads", values.heads) ?? D.heads,
    kvHeads: intFlag("kv-heads", values["kv-heads"]) ?? D.kvHeads,
    hidden: intFlag("hidden", values.hidden) ?? D.hidden,
    seqLen: intFlag("seq-len", values["seq-len"]) ?? D.seqLen,
    ropeTheta: D.ropeTheta,
    normEps: D.normEps,
    steps: intFlag("steps", values.steps) ?? D.steps,
    batch: intFlag("batch", values.batch) ?? D.batch,
    accum: intFlag("accum", values.accum) ?? D.accum,
    lr: numberFlag("lr", values.lr) ?? D.lr,
    minLr: numberFlag("min-lr", values["min-lr"]) ?? D.minLr,
    warmup: intFlag("warmup", values.warmup) ?? D.warmup,
    weightDecay: numberFlag("weight-decay", values["weight-decay"]) ?? D.weightDecay,
    beta1: D.beta1,
    beta2: D.beta2,
    gradClip: numberFlag("grad-clip", values["grad-clip"]) ?? D.gradClip,
    evalEvery: intFlag("eval-every", values["eval-every"]) ?? D.evalEvery,
    evalWindows: intFlag("eval-windows", values["eval-windows"]) ?? D.evalWindows,
    finalEvalWindows: intFlag("final-eval-windows", values["final-eval-windows"]) ?? D.finalEvalWindows,
    checkpointEvery: intFlag("checkpoint-every", values["checkpoint-every"]) ?? D.checkpointEvery,
    seed: intFlag("seed", values.seed) ?? D.seed,
    threads: intFlag("threads", values.threads) ?? D.threads,
    exportDtype: (values.dtype as "f16" | "f32" | undefined) ?? D.exportDtype,
    gguf: !values["no-gguf"],
  };

  if (values["samples-only"]) {
    printSamples(options.out, options.seed);
    return 0;
  }

  let stopRequested = false;
  const onSignal = (): void => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write("\nloom train: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)\n");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const tty = process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar({
    format: "step {value}/{total} |{bar}| loss {loss} · val {val} · {tps} tok/s · lr {lr} · ETA {eta_formatted}",
    barsize: 24,
    hideCursor: tty,
    noTTYOutput: true,
    notTTYSchedule: 30_000,
    etaBuffer: 20,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  let val = "—";
  // Above the bar: clear its line first; the next update draws it again.
  const logLine = (line: string): void => {
    process.stderr.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  };
  try {
    const summary = await train(options, {
      log: logLine,
      onStart: (info) => {
        const c = info.config;
        console.error(
          `model: ${info.numParams.toLocaleString("en-US")} parameters (dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads} heads / ${c.nKVHeads} kv, ` +
          `SwiGLU ${c.hiddenDim}, vocab ${c.vocabSize}, context ${c.maxSeqLen}); data: ${info.trainTokens.toLocaleString("en-US")} training / ` +
          `${info.validationTokens.toLocaleString("en-US")} validation tokens`,
        );
        bar.start(info.steps, info.startStep, { loss: "—", val, tps: "—", lr: "—" });
      },
      onStep: (s) => bar.update(s.step, { loss: s.loss.toFixed(3), val, tps: Math.round(s.tokensPerSecond), lr: s.lr.toExponential(2) }),
      onEval: (e) => {
        val = `${e.valLoss.toFixed(3)} (ppl ${Math.exp(e.valLoss).toFixed(1)})`;
        if (!tty) logLine(`step ${e.step}: validation loss ${e.valLoss.toFixed(4)}, perplexity ${Math.exp(e.valLoss).toFixed(2)}`);
      },
      shouldStop: () => stopRequested,
    }, values.resume === true);
    bar.stop();
    console.error(
      `${summary.finished ? "done" : "stopped"} at step ${summary.stepsDone}: train loss ${summary.finalTrainLoss.toFixed(4)}, ` +
      `validation loss ${summary.valLoss.toFixed(4)} (perplexity ${summary.valPerplexity.toFixed(2)}), ` +
      `${Math.round(summary.tokensPerSecond)} tokens/s, ${(summary.elapsedSeconds / 60).toFixed(1)} min of training`,
    );
    if (!summary.finished) console.error(`checkpoint saved; continue with: loom train --out ${options.out} --resume`);
    if (values.samples) printSamples(options.out, options.seed);
    return summary.finished ? 0 : 130;
  } finally {
    bar.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function printSamples(out: string, seed: number): void {
  for (const c of sampleContinuations(out, SAMPLE_PROMPTS, { maxNewTokens: 60, temperature: 0.8, topK: 40, seed })) {
    console.log(`prompt:  ${JSON.stringify(c.prompt)}\ngreedy:  ${JSON.stringify(c.greedy)}\nsampled: ${JSON.stringify(c.sampled)}\n`);
  }
}
