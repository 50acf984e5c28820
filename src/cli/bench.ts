/**
 * `loom bench`: how fast one model loads, prefills and decodes, in this process. Run it in a fresh
 * process per model (as `npm run bench` does) so that the load is cold and the peak RSS is the
 * model's own. The prompt is seeded random token ids; decoding is greedy.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { loadModel } from "../engine.js";
import { LoomError } from "../errors.js";
import type { CausalLM, KVCache } from "../models/types.js";
import { intFlag, numberFlag } from "./args.js";

/** Throwaway decode steps before timing, by default; the warm-up stops after WARMUP_SECONDS anyway (big models). */
export const DEFAULT_WARMUP_TOKENS = 256;
export const WARMUP_SECONDS = 3;

const HELP = `usage: loom bench --model PATH [options]

  --model PATH          HF folder, .gguf file or hub id
  --prompt-tokens N     prompt length for the prefill (default 128)
  --new-tokens N        tokens to decode after it (default 128)
  --threads N           kernel threads (default: the number of cores)
  --max-seconds S       stop decoding after S seconds, reporting the tokens done so far
  --seed S              seed of the random prompt (default 1)
  --warmup-tokens N     throwaway decode steps before timing (default ${DEFAULT_WARMUP_TOKENS}; 0: none)
  --json                print one JSON object as the last line

  load_ms is cold: from the start of loading to the logits of a first one-token forward.
  A 16-token throwaway prefill then warms the multi-token path, and up to --warmup-tokens
  throwaway decode steps (at most ${WARMUP_SECONDS} s of them) warm the one-token path: V8 optimizes
  the per-token JavaScript only after a few hundred calls. Their rate is reported as the
  warm-up decode rate (the process's first decode steps).`;

export interface BenchOptions {
  model: string;
  promptTokens?: number;
  newTokens?: number;
  threads?: number;
  maxSeconds?: number;
  seed?: number;
  /** Throwaway decode steps before timing (default DEFAULT_WARMUP_TOKENS, at most WARMUP_SECONDS of them). */
  warmupTokens?: number;
}

/** What `loom bench --json` prints. MB are 10^6 bytes. */
export interface BenchResult {
  model: string;
  architecture: string;
  threads: number;
  prompt_tokens: number;
  /** Tokens actually decoded (fewer than asked when --max-seconds cut decoding short). */
  new_tokens: number;
  prefill_tps: number;
  decode_tps: number;
  /** Start of loading → logits of a first one-token forward. */
  load_ms: number;
  /** Start of loading → weights and tokenizer ready. */
  weights_load_ms: number;
  prefill_ms: number;
  decode_ms: number;
  /** process.resourceUsage().maxRSS. */
  peak_rss_mb: number;
  /** Keys and values of every layer for the positions held after decoding, as stored (f32). */
  kv_cache_mb: number;
  /** What the cache had allocated at the end, when it says. */
  kv_allocated_mb: number | null;
  /** Throwaway decode steps run before timing, and their rate (the process's first decode steps). */
  warmup_tokens: number;
  warmup_decode_tps: number;
  /** Every logit of the last step was finite. */
  logits_finite: boolean;
  node: string;
}

/** A seeded prompt of `n` ids in [0, vocab): mulberry32. */
export function randomPrompt(n: number, vocab: number, seed: number): number[] {
  let a = seed >>> 0;
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    ids.push(Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * vocab));
  }
  return ids;
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function kvMegabytes(model: CausalLM, positions: number): number {
  const c = model.config;
  return (2 * c.numLayers * c.numKVHeads * c.headDim * positions * 4) / 1e6;
}

/** Bytes of keys and values a cache has allocated, if it says (Loom's caches do). */
function allocatedBytes(cache: KVCache): number | undefined {
  const bytes = (cache as { byteLength?: unknown }).byteLength;
  return typeof bytes === "number" ? bytes : undefined;
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const promptTokens = options.promptTokens ?? 128;
  const newTokens = options.newTokens ?? 128;
  const threads = options.threads ?? availableParallelism();
  if (promptTokens < 1) throw new LoomError(`--prompt-tokens must be at least 1, got ${promptTokens}`);
  if (newTokens < 0) throw new LoomError(`--new-tokens must be at least 0, got ${newTokens}`);
  if ((options.warmupTokens ?? 0) < 0) throw new LoomError(`--warmup-tokens must be at least 0, got ${options.warmupTokens}`);
  if (threads < 1) throw new LoomError(`--threads must be at least 1, got ${threads}`);

  const loadStart = performance.now();
  const { model } = await loadModel(options.model, { threads });
  const weightsReady = performance.now();
  try {
    const config = model.config;
    if (promptTokens + newTokens > config.maxPositions) {
      throw new LoomError(`${options.model}: ${promptTokens} + ${newTokens} positions exceed the model's ${config.maxPositions}`);
    }
    const prompt = randomPrompt(promptTokens, config.vocabSize, options.seed ?? 1);
    await model.forward([prompt[0]], 0, model.createCache());
    const firstToken = performance.now();
    // A short throwaway prefill, so the multi-token path is compiled and its buffers exist before
    // timing; then throwaway decode steps after it, so the one-token path is too.
    const warmupPrompt = prompt.slice(0, Math.min(16, promptTokens));
    const warmupCache = model.createCache();
    let warm = await model.forward(warmupPrompt, 0, warmupCache);
    // Within the timed run's positions, so the warm-up's cache is no bigger than the timed one
    // (which then reuses its memory: the warm-up adds nothing to the peak RSS).
    const warmupLimit = Math.min(options.warmupTokens ?? DEFAULT_WARMUP_TOKENS, promptTokens + newTokens - warmupPrompt.length);
    const warmupStart = performance.now();
    const warmupDeadline = warmupStart + WARMUP_SECONDS * 1000;
    let warmupTokens = 0;
    const warmupLogits = new Float32Array(config.vocabSize);
    while (warmupTokens < warmupLimit && performance.now() < warmupDeadline) {
      warm = await model.forward([argmax(warm)], warmupPrompt.length + warmupTokens, warmupCache, { logitsOut: warmupLogits });
      warmupTokens++;
    }
    const warmupMs = performance.now() - warmupStart;
    warmupCache.release?.();

    const cache = model.createCache();
    const prefillStart = performance.now();
    let logits = await model.forward(prompt, 0, cache);
    const prefillEnd = performance.now();

    const deadline = options.maxSeconds === undefined ? Infinity : prefillEnd + options.maxSeconds * 1000;
    let decoded = 0;
    const step = new Float32Array(config.vocabSize); // one buffer for every step's logits
    while (decoded < newTokens && performance.now() < deadline) {
      logits = await model.forward([argmax(logits)], promptTokens + decoded, cache, { logitsOut: step });
      decoded++;
    }
    const decodeEnd = performance.now();

    const allocated = allocatedBytes(cache);
    const prefillMs = prefillEnd - prefillStart;
    const decodeMs = decodeEnd - prefillEnd;
    return {
      model: options.model,
      architecture: config.architecture,
      threads,
      prompt_tokens: promptTokens,
      new_tokens: decoded,
      prefill_tps: (promptTokens / prefillMs) * 1000,
      decode_tps: decoded === 0 ? 0 : (decoded / decodeMs) * 1000,
      load_ms: firstToken - loadStart,
      weights_load_ms: weightsReady - loadStart,
      prefill_ms: prefillMs,
      decode_ms: decodeMs,
      peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / 1e6,
      kv_cache_mb: kvMegabytes(model, cache.length),
      kv_allocated_mb: allocated === undefined ? null : allocated / 1e6,
      warmup_tokens: warmupTokens,
      warmup_decode_tps: warmupTokens === 0 ? 0 : (warmupTokens / warmupMs) * 1000,
      logits_finite: allFinite(logits),
      node: process.version,
    };
  } finally {
    model.dispose?.();
  }
}

function printHuman(r: BenchResult): void {
  const f = (x: number, digits = 1) => x.toFixed(digits);
  console.log(`${r.model} (${r.architecture}), ${r.threads} thread${r.threads === 1 ? "" : "s"}`);
  console.log(`  load (cold, to first token)  ${f(r.load_ms, 0)} ms   (weights ready after ${f(r.weights_load_ms, 0)} ms)`);
  console.log(`  prefill                      ${f(r.prefill_tps)} tokens/s   (${r.prompt_tokens} tokens in ${f(r.prefill_ms, 0)} ms)`);
  console.log(`  decode                       ${f(r.decode_tps)} tokens/s   (${r.new_tokens} tokens in ${f(r.decode_ms, 0)} ms)`);
  if (r.warmup_tokens > 0) console.log(`  warm-up decode (first steps) ${f(r.warmup_decode_tps)} tokens/s   (${r.warmup_tokens} throwaway steps before timing)`);
  console.log(`  peak RSS                     ${f(r.peak_rss_mb, 0)} MB`);
  const allocated = r.kv_allocated_mb === null ? "" : `   (${f(r.kv_allocated_mb)} MB allocated)`;
  console.log(`  KV cache (f32)               ${f(r.kv_cache_mb)} MB${allocated}`);
  if (!r.logits_finite) console.log("  warning: the last logits were not all finite");
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      "prompt-tokens": { type: "string" },
      "new-tokens": { type: "string" },
      threads: { type: "string" },
      "max-seconds": { type: "string" },
      seed: { type: "string" },
      "warmup-tokens": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) {
    console.error(`loom bench: --model is required\n\n${HELP}`);
    return 2;
  }
  const result = await runBench({
    model: values.model,
    promptTokens: intFlag("prompt-tokens", values["prompt-tokens"]),
    newTokens: intFlag("new-tokens", values["new-tokens"]),
    threads: intFlag("threads", values.threads),
    maxSeconds: numberFlag("max-seconds", values["max-seconds"]),
    seed: intFlag("seed", values.seed),
    warmupTokens: intFlag("warmup-tokens", values["warmup-tokens"]),
  });
  printHuman(result);
  if (values.json) console.log(JSON.stringify(result));
  return 0;
}
