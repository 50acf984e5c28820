/**
 * How attention memory grows with the prompt, measured: Loom's prefill (flash kernel, chunked
 * prefill) against naive attention at the same shapes, each run in a fresh child process so that
 * its peak RSS (process.resourceUsage().maxRSS) is that run's own.
 *
 *   node dist/bench/attention-memory.js [--lengths 2048,8192,32768] [--paths loom,row,matrix] [--no-write]
 *
 * Paths, per prompt length n:
 *  - loom:   a generated Llama checkpoint loaded from disk, one forward(prompt, 0, cache) with the
 *            default prefill chunk: KV cache + chunk-bounded scratch.
 *  - row:    src/kernels/attention.ts causalAttention on (n, ·) Q/K/V, with the scratch it asks
 *            for: one row of kvLen scores, reused for every query.
 *  - matrix: textbook attention that holds one head's whole (n × n) f32 score matrix at once
 *            (eager frameworks hold every head's); this is the quadratic one.
 * The table goes to stdout and into docs/long-context.md between the markers below.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { causalAttention, type AttentionDims } from "../src/kernels/attention.js";
import { dot } from "../src/kernels/matmul.js";
import { softmax } from "../src/kernels/softmax.js";
import { DEFAULT_PREFILL_CHUNK } from "../src/models/forward-checks.js";
import { loadCausalLM } from "../src/models/load.js";
import { AttentionScratch } from "../src/nn/attention.js";
import { ModelKVCache } from "../src/nn/model-kv-cache.js";
import { writeSafetensors } from "../src/weights/safetensors-write.js";
import { describeMachine, type Machine } from "./machine.js";
import { tensorSeed, ValueStream, type ValueKind } from "./random-weights.js";

/**
 * Small width so that 32k tokens of O(n²) attention fit the time budget of a shared 2-core
 * machine; attention memory depends on heads × headDim and n, not on the MLP or vocabulary.
 */
const SHAPE = { vocab: 256, hidden: 32, layers: 1, heads: 2, kvHeads: 2, headDim: 16, ffn: 64, positions: 32768 };
const SEED = 7;
const DEFAULT_LENGTHS = [2048, 8192, 32768];
const PATHS = ["loom", "row", "matrix"] as const;
type Path = (typeof PATHS)[number];
/** Tokens of a first, small run in each child, so that startRss already holds compiled code and heap. */
const WARM_UP = 64;
/** Memory left to the rest of the machine when deciding whether a full score matrix may be tried. */
const MEMORY_MARGIN = 2 * 2 ** 30;

const DOC = fileURLToPath(new URL("../../docs/long-context.md", import.meta.url));
const BEGIN = "<!-- attention-memory:begin (written by bench/attention-memory.ts) -->";
const END = "<!-- attention-memory:end -->";

/** What a child reports (bytes and seconds). */
interface Measurement {
  /** maxRSS once set up and warmed up, before anything whose size depends on n. */
  startRss: number;
  peakRss: number;
  /** Wall-clock seconds of the measured work; its CPU seconds (user + system) are steadier on a shared machine. */
  seconds: number;
  cpuSeconds: number;
  /** K/V: the cache's allocation for loom, the K and V inputs for the naive paths. */
  kvBytes: number;
  /** Attention working memory besides K/V: chunk buffers and tiles, or the score buffer. */
  scratchBytes: number;
}

type Outcome = { path: Path; tokens: number; result: Measurement } | { path: Path; tokens: number; failure: string };

// ---------------------------------------------------------------------------------------------
// The checkpoint

function writeCheckpoint(dir: string): void {
  const s = SHAPE;
  const qDim = s.heads * s.headDim, kvDim = s.kvHeads * s.headDim;
  const tensor = (name: string, shape: number[], kind: ValueKind) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    new ValueStream(tensorSeed(SEED, name), kind, 0.05).fill(data);
    return { name, dtype: "f32" as const, shape, data };
  };
  const tensors = [tensor("model.embed_tokens.weight", [s.vocab, s.hidden], "matrix")];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      tensor(`${p}.input_layernorm.weight`, [s.hidden], "norm"),
      tensor(`${p}.self_attn.q_proj.weight`, [qDim, s.hidden], "matrix"),
      tensor(`${p}.self_attn.k_proj.weight`, [kvDim, s.hidden], "matrix"),
      tensor(`${p}.self_attn.v_proj.weight`, [kvDim, s.hidden], "matrix"),
      tensor(`${p}.self_attn.o_proj.weight`, [s.hidden, qDim], "matrix"),
      tensor(`${p}.post_attention_layernorm.weight`, [s.hidden], "norm"),
      tensor(`${p}.mlp.gate_proj.weight`, [s.ffn, s.hidden], "matrix"),
      tensor(`${p}.mlp.up_proj.weight`, [s.ffn, s.hidden], "matrix"),
      tensor(`${p}.mlp.down_proj.weight`, [s.hidden, s.ffn], "matrix"),
    );
  }
  tensors.push(tensor("model.norm.weight", [s.hidden], "norm"));
  writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    model_type: "llama", architectures: ["LlamaForCausalLM"], vocab_size: s.vocab, hidden_size: s.hidden,
    num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, head_dim: s.headDim,
    intermediate_size: s.ffn, max_position_embeddings: s.positions, rms_norm_eps: 1e-5, rope_theta: 10000,
    hidden_act: "silu", tie_word_embeddings: true, torch_dtype: "float32",
  }));
}

// ---------------------------------------------------------------------------------------------
// Children: each measures one (path, n) in a process of its own

const maxRss = () => process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB

/** Runs `work`, returning its wall-clock and CPU seconds. */
async function timed(work: () => unknown): Promise<{ seconds: number; cpuSeconds: number }> {
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function randomValues(count: number, name: string): Float32Array {
  const out = new Float32Array(count);
  new ValueStream(tensorSeed(SEED, name), "matrix", 1).fill(out);
  return out;
}

async function loomPrefill(modelDir: string, n: number): Promise<Measurement> {
  const model = await loadCausalLM(modelDir);
  // Any ids do: attention's cost and memory do not depend on which tokens they are.
  const prompt = Array.from({ length: n }, (_, i) => (i * 7919 + 13) % SHAPE.vocab);
  await model.forward(prompt.slice(0, WARM_UP), 0, model.createCache()); // compiled code and heap in startRss
  const startRss = maxRss();
  const cache = model.createCache();
  if (!(cache instanceof ModelKVCache)) throw new Error("the llama model's cache is expected to be a ModelKVCache");
  const time = await timed(() => model.forward(prompt, 0, cache, { prefillChunk: DEFAULT_PREFILL_CHUNK }));
  // The same AttentionScratch the model allocates once, grown to its largest call (one chunk).
  const scratch = new AttentionScratch({ nHeads: SHAPE.heads, nKVHeads: SHAPE.kvHeads, headDim: SHAPE.headDim });
  scratch.ensure(Math.min(n, DEFAULT_PREFILL_CHUNK));
  const f = scratch.flash;
  const scratchBytes = [scratch.q, scratch.k, scratch.v, scratch.qkv, scratch.context, f.scores, f.acc, f.rowMax, f.rowSum]
    .reduce((sum, a) => sum + a.byteLength, 0);
  return { startRss, peakRss: maxRss(), ...time, kvBytes: cache.byteLength, scratchBytes };
}

function naiveDims(n: number): AttentionDims {
  return { seqLen: n, startPos: 0, nHeads: SHAPE.heads, nKVHeads: SHAPE.kvHeads, headDim: SHAPE.headDim, scale: 1 / Math.sqrt(SHAPE.headDim) };
}

async function naiveAttention(path: "row" | "matrix", n: number, warmUp = true): Promise<Measurement> {
  if (warmUp) await naiveAttention(path, Math.min(n, WARM_UP), false); // compiled code and heap in startRss
  const qDim = SHAPE.heads * SHAPE.headDim, kvDim = SHAPE.kvHeads * SHAPE.headDim;
  const startRss = maxRss();
  const q = randomValues(n * qDim, "q"); // (n, nHeads·headDim)
  const k = randomValues(n * kvDim, "k"); // (n, nKVHeads·headDim)
  const v = randomValues(n * kvDim, "v"); // (n, nKVHeads·headDim)
  const out = new Float32Array(n * qDim); // (n, nHeads·headDim)
  const scores = new Float32Array(path === "row" ? n : n * n); // (kvLen) or (n, kvLen)
  const time = await timed(() => path === "row"
    ? causalAttention(out, q, k, v, scores, naiveDims(n))
    : fullMatrixAttention(out, q, k, v, scores, naiveDims(n)));
  return { startRss, peakRss: maxRss(), ...time, kvBytes: k.byteLength + v.byteLength, scratchBytes: scores.byteLength };
}

/**
 * Textbook attention, one head at a time, in three sweeps as an eager framework runs it:
 * S = scale·Q Kᵀ over every (query, key) pair with future keys set to −∞, then softmax each row,
 * then out = S V. The whole (seqLen × kvLen) matrix `scores` is live (and touched) at once.
 */
function fullMatrixAttention(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, scores: Float32Array, d: AttentionDims): void {
  const { seqLen, startPos, nHeads, nKVHeads, headDim, scale } = d;
  const kvLen = startPos + seqLen;
  const qRow = nHeads * headDim, kvRow = nKVHeads * headDim, group = nHeads / nKVHeads;
  for (let h = 0; h < nHeads; h++) {
    const kvo = Math.floor(h / group) * headDim;
    for (let t = 0; t < seqLen; t++) {
      const row = t * kvLen, visible = startPos + t + 1;
      for (let j = 0; j < visible; j++) scores[row + j] = dot(q, t * qRow + h * headDim, k, j * kvRow + kvo, headDim) * scale;
      scores.fill(-Infinity, row + visible, row + kvLen);
    }
    // The −∞ tail of a row is exactly 0 after the softmax, so the softmax and S·V skip it.
    for (let t = 0; t < seqLen; t++) softmax(scores, t * kvLen, startPos + t + 1);
    for (let t = 0; t < seqLen; t++) {
      const row = t * kvLen, oo = t * qRow + h * headDim;
      out.fill(0, oo, oo + headDim);
      for (let j = 0; j < startPos + t + 1; j++) {
        const p = scores[row + j], vo = j * kvRow + kvo;
        for (let i = 0; i < headDim; i++) out[oo + i] += p * v[vo + i];
      }
    }
  }
}

async function child(path: Path, n: number, modelDir: string): Promise<void> {
  let result: Measurement;
  try {
    result = path === "loom" ? await loomPrefill(modelDir, n) : await naiveAttention(path, n);
  } catch (error) {
    // An allocation the machine cannot give is a result, not a crash.
    console.log(JSON.stringify({ failure: `${(error as Error).name}: ${(error as Error).message}` }));
    return;
  }
  console.log(JSON.stringify({ result }));
}

// ---------------------------------------------------------------------------------------------
// Parent: runs every child, one at a time, and reports

/** MemAvailable from /proc/meminfo (what can be allocated without swapping others out), if readable. */
function memAvailable(): number | undefined {
  try {
    const line = readFileSync("/proc/meminfo", "utf8").split("\n").find((l) => l.startsWith("MemAvailable:"));
    return line === undefined ? undefined : Number(line.split(/\s+/)[1]) * 1024;
  } catch {
    return undefined;
  }
}

function measure(path: Path, n: number, modelDir: string): Outcome {
  if (path === "matrix") {
    const needed = n * n * 4 + n * 2 * (SHAPE.heads + SHAPE.kvHeads) * SHAPE.headDim * 4;
    const available = memAvailable();
    if (available !== undefined && needed > available - MEMORY_MARGIN) {
      return { path, tokens: n, failure: `not attempted: needs ${gib(needed)}, ${gib(available)} available` };
    }
  }
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", path, "--tokens", String(n), "--model", modelDir], {
    encoding: "utf8", maxBuffer: 1 << 20,
  });
  const last = run.stdout?.trim().split("\n").at(-1) ?? "";
  if (run.status !== 0 || !last.startsWith("{")) {
    const why = run.signal ? `killed by ${run.signal}` : run.stderr?.trim().split("\n").at(-1) ?? `exit ${run.status}`;
    return { path, tokens: n, failure: why };
  }
  const reply = JSON.parse(last) as { result?: Measurement; failure?: string };
  return reply.result ? { path, tokens: n, result: reply.result } : { path, tokens: n, failure: reply.failure ?? "no result" };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const size = (bytes: number) => (bytes >= 2 ** 30 ? gib(bytes) : mib(bytes));

const LABEL: Record<Path, string> = {
  loom: `Loom prefill (flash, chunk ${DEFAULT_PREFILL_CHUNK})`,
  row: "naive `causalAttention` (one score row)",
  matrix: "naive, full (n × n) score matrix",
};

function table(outcomes: Outcome[]): string {
  const lines = [
    "| prompt tokens | path | K/V bytes | attention scratch | peak RSS | RSS growth | CPU time | wall time |",
    "|---:|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const o of outcomes) {
    const head = `| ${o.tokens.toLocaleString("en-US")} | ${LABEL[o.path]} |`;
    if ("failure" in o) {
      lines.push(`${head} — | — | ${o.failure} | — | — | — |`);
      continue;
    }
    const r = o.result;
    lines.push(`${head} ${size(r.kvBytes)} | ${size(r.scratchBytes)} | ${size(r.peakRss)} | ${size(r.peakRss - r.startRss)} | ${r.cpuSeconds.toFixed(1)} s | ${r.seconds.toFixed(1)} s |`);
  }
  return lines.join("\n");
}

/**
 * For each path, what each added token cost in measured RSS between consecutive lengths:
 * (growth(b) − growth(a)) / (b − a). Flat from step to step is linear growth; rising with the
 * length (×4 per ×4 tokens) is quadratic.
 */
function bytesPerAddedToken(outcomes: Outcome[], lengths: number[]): string {
  const lines: string[] = [];
  for (const path of PATHS) {
    const growthAt = (n: number) => {
      const o = outcomes.find((x) => x.path === path && x.tokens === n);
      return o && "result" in o ? o.result.peakRss - o.result.startRss : undefined;
    };
    const steps: string[] = [];
    for (let i = 1; i < lengths.length; i++) {
      const a = growthAt(lengths[i - 1]), b = growthAt(lengths[i]);
      if (a === undefined || b === undefined) continue;
      const perToken = (b - a) / (lengths[i] - lengths[i - 1]);
      steps.push(`${lengths[i - 1]}→${lengths[i]}: ${Math.abs(perToken) >= 10240 ? `${(perToken / 1024).toFixed(0)} KiB` : `${perToken.toFixed(0)} B`}`);
    }
    if (steps.length > 0) lines.push(`- ${LABEL[path]}: ${steps.join("; ")}`);
  }
  return lines.join("\n");
}

function report(outcomes: Outcome[], lengths: number[], machine: Machine, wallSeconds: number): string {
  const s = SHAPE;
  return [
    `Model: generated llama, ${s.layers} layer, hidden ${s.hidden}, ${s.heads} heads × head_dim ${s.headDim} `
      + `(${s.kvHeads} K/V heads), FFN ${s.ffn}, vocabulary ${s.vocab}, f32. Naive paths run attention only, on random `
      + `Q/K/V of the same shapes (one layer's worth).`,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB.toFixed(0)} GiB RAM, Node ${machine.node}, `
      + `1-minute load average ${machine.loadAverage.toFixed(1)} at the start (shared machine: times are indicative). `
      + `Whole run: ${(wallSeconds / 60).toFixed(1)} min.`,
    "",
    table(outcomes),
    "",
    "Measured RSS per added token, between consecutive lengths (the same at every step: linear; growing with the length: quadratic):",
    "",
    bytesPerAddedToken(outcomes, lengths),
  ].join("\n");
}

function writeDoc(section: string): void {
  const block = `${BEGIN}\n${section}\n${END}`;
  const old = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Long context\n";
  const from = old.indexOf(BEGIN), to = old.indexOf(END);
  const next = from >= 0 && to > from ? old.slice(0, from) + block + old.slice(to + END.length) : `${old.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(DOC), { recursive: true });
  writeFileSync(DOC, next);
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const childPath = option(argv, "--child");
  if (childPath !== undefined) {
    await child(childPath as Path, Number(option(argv, "--tokens")), option(argv, "--model")!);
    return;
  }
  const lengths = (option(argv, "--lengths")?.split(",").map(Number) ?? DEFAULT_LENGTHS);
  const paths = (option(argv, "--paths")?.split(",") ?? [...PATHS]) as Path[];
  for (const p of paths) if (!PATHS.includes(p)) throw new Error(`unknown path ${p}; expected ${PATHS.join(", ")}`);
  if (lengths.some((n) => !Number.isInteger(n) || n < 1 || n > SHAPE.positions)) {
    throw new Error(`lengths must be integers in 1..${SHAPE.positions}`);
  }

  const machine = describeMachine();
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "loom-attention-memory-"));
  const outcomes: Outcome[] = [];
  try {
    writeCheckpoint(dir);
    for (const n of lengths) {
      for (const path of paths) {
        const o = measure(path, n, dir);
        outcomes.push(o);
        const what = "failure" in o ? o.failure : `peak RSS ${size(o.result.peakRss)}, ${o.result.cpuSeconds.toFixed(1)} s CPU, ${o.result.seconds.toFixed(1)} s wall`;
        console.error(`${n} tokens, ${path}: ${what}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const section = report(outcomes, lengths, machine, (performance.now() - started) / 1000);
  console.log(section);
  if (!argv.includes("--no-write")) {
    writeDoc(section);
    console.error(`written to ${DOC}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
