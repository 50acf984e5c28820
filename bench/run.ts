/**
 * `npm run bench`: Loom and its peers on the same generated checkpoints, one after the other in
 * one run, each engine in a fresh process per model; prints the figures, Loom's ratio to each peer
 * and the memory-bandwidth limit, and writes them to BENCHMARKS.md.
 *
 *   npm run bench [-- --only gpt2,tinyllama-q8_0] [--threads 2] [--prompt-tokens 128] [--new-tokens 128]
 *                    [--rounds 2] [--repetitions 1] [--max-decode-seconds 30] [--no-llama-bench] [--no-binding]
 *                    [--no-tokenizers] [--no-bandwidth] [--no-transformers-js] [--child-timeout-seconds 900] [--write | --no-write]
 *
 * Each engine runs --rounds times per model, taking turns with the others, and keeps its best
 * figures; --repetitions is llama-bench's own -r within a round.
 * --only takes model ids (gpt2, smollm2, tinyllama), file ids (gpt2-f32, gpt2-q8_0, gpt2-f32-hf,
 * smollm2-q8_0, tinyllama-q8_0) and "tokenizers". BENCHMARKS.md is rewritten after a full run
 * (or with --write).
 */
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BenchResult } from "../src/cli/bench.js";
import { BandwidthProbe } from "./bandwidth.js";
import { benchFiles, type BenchFile, type MatrixDType } from "./checkpoints.js";
import { buildLlamaBench, runLlamaBench, runProcess, type LlamaBenchBuild, type ProcessOutput } from "./llama-bench.js";
import type { LlamaBindingResult } from "./llama-binding.js";
import { describeMachine } from "./machine.js";
import { BENCH_MODELS, type BenchModel, type ModelShape } from "./model-specs.js";
import { benchmarksMarkdown } from "./benchmarks-md.js";
import { renderReport, type EngineRow, type GroupResult, type RunReport } from "./report.js";
import { bestOfRounds } from "./rounds.js";
import { measureTransformersJs, TRANSFORMERS_JS_ENGINE } from "./transformers-js.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const LOOM_CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const BINDING_CHILD = fileURLToPath(new URL("./llama-binding.js", import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: "string" },
    threads: { type: "string", default: "2" },
    "prompt-tokens": { type: "string", default: "128" },
    "new-tokens": { type: "string", default: "128" },
    rounds: { type: "string", default: "2" },
    repetitions: { type: "string", default: "1" },
    "max-decode-seconds": { type: "string", default: "30" },
    "child-timeout-seconds": { type: "string", default: "900" },
    "no-llama-bench": { type: "boolean" },
    "no-binding": { type: "boolean" },
    "no-tokenizers": { type: "boolean" },
    "no-training": { type: "boolean" },
    "no-bandwidth": { type: "boolean" },
    "no-transformers-js": { type: "boolean" },
    write: { type: "boolean" },
    "no-write": { type: "boolean" },
    "cache-dir": { type: "string", default: join(root, "bench-models") },
  },
});

const settings = {
  promptTokens: Number(args["prompt-tokens"]),
  newTokens: Number(args["new-tokens"]),
  threads: Number(args.threads),
  repetitions: Number(args.repetitions),
  rounds: Number(args.rounds),
};
const childTimeoutMs = Number(args["child-timeout-seconds"]) * 1000;
const cacheDir = args["cache-dir"];
const only = args.only?.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
const notes: string[] = [];

const knownIds = ["tokenizers", "training", ...BENCH_MODELS.flatMap((m) => [
  m.id, ...m.ggufDTypes.map((d) => `${m.id}-${d}`), ...(m.hfFolder ? [`${m.id}-f32-hf`] : []),
])];
const unknown = only?.filter((o) => !knownIds.includes(o)) ?? [];
if (unknown.length > 0) {
  console.error(`bench: unknown --only ${unknown.join(", ")}; choose from ${knownIds.join(", ")}`);
  process.exit(2);
}
const log = (line: string): void => console.error(line);

function wanted(id: string): boolean {
  return only === undefined || only.includes(id);
}

function fileWanted(file: BenchFile): boolean {
  return only === undefined || only.includes(file.model.id) || only.includes(file.id);
}

function modelWanted(model: BenchModel): boolean {
  return only === undefined || only.some((o) => o === model.id || o.startsWith(`${model.id}-`));
}

/** Keys and values at f16 (llama.cpp's default cache type) for `positions` positions. */
function f16KvMB(shape: ModelShape, positions: number): number {
  const kvDim = shape.arch === "gpt2" ? shape.hidden : (shape.kvHeads * shape.hidden) / shape.heads;
  return (2 * shape.layers * kvDim * positions * 2) / 1e6;
}

/** The child's last stdout line as JSON, or undefined when it printed none. */
function lastJsonLine<T>(stdout: string): T | undefined {
  try {
    return JSON.parse(stdout.trim().split("\n").pop() ?? "") as T;
  } catch {
    return undefined;
  }
}

function failure(out: ProcessOutput): string {
  if (out.timedOut) return `ran past the ${args["child-timeout-seconds"]} s limit (--child-timeout-seconds)`;
  const last = out.stderr.trim().split("\n").filter((l) => l.trim().length > 0).slice(-2).join(" ");
  return `exit ${out.code}: ${last.slice(0, 300)}`;
}

function summary(row: EngineRow): EngineRow {
  const f = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(1));
  log(row.missing !== undefined ? `    not measured: ${row.missing}` : `    prefill ${f(row.prefill_tps)} t/s, decode ${f(row.decode_tps)} t/s, load ${f(row.load_ms)} ms, peak RSS ${f(row.peak_rss_mb)} MB`);
  return row;
}

async function loomRow(file: BenchFile, engine: string): Promise<EngineRow> {
  log(`  ${engine} …`);
  const cli = [LOOM_CLI, "bench", "--model", file.path, "--json", "--threads", String(settings.threads),
    "--prompt-tokens", String(settings.promptTokens), "--new-tokens", String(settings.newTokens),
    "--max-seconds", String(args["max-decode-seconds"])];
  const out = await runProcess(process.execPath, cli, root, childTimeoutMs);
  if (out.code !== 0) return { engine, loom: true, missing: failure(out) };
  const r = lastJsonLine<BenchResult>(out.stdout);
  if (!r) return { engine, loom: true, missing: `no JSON line in its output: ${out.stdout.slice(-200)}` };
  const notesHere = [`KV cache f32 (${r.kv_allocated_mb === null ? "?" : r.kv_allocated_mb.toFixed(1)} MB allocated)`, `weights ready after ${r.weights_load_ms.toFixed(0)} ms`];
  if (r.warmup_tokens > 0) notesHere.push(`decode timed after ${r.warmup_tokens} throwaway steps, which ran at ${r.warmup_decode_tps.toFixed(1)} tokens/s`);
  if (r.new_tokens < settings.newTokens) notesHere.push(`decode stopped after ${r.new_tokens} tokens (--max-decode-seconds)`);
  if (!r.logits_finite) notesHere.push("the last logits were NOT all finite");
  return {
    engine, loom: true, load_ms: r.load_ms, prefill_tps: r.prefill_tps, decode_tps: r.decode_tps,
    peak_rss_mb: r.peak_rss_mb, kv_mb: r.kv_cache_mb, note: notesHere.join("; "),
  };
}

async function llamaBenchRow(file: BenchFile, build: LlamaBenchBuild | undefined, buildError: string | undefined): Promise<EngineRow> {
  const engine = "llama.cpp (llama-bench)";
  if (!build) return { engine, loom: false, missing: buildError ?? "skipped (--no-llama-bench)" };
  log(`  ${engine} …`);
  try {
    const r = await runLlamaBench(build, file.path, { ...settings, timeoutMs: childTimeoutMs });
    const fa = r.flash_attn < 0 ? "auto" : r.flash_attn ? "on" : "off";
    return {
      engine, loom: false, prefill_tps: r.prefill_tps, decode_tps: r.decode_tps, peak_rss_mb: r.peak_rss_mb ?? undefined,
      kv_mb: f16KvMB(file.model.shape, settings.promptTokens + settings.newTokens),
      note: `its defaults: KV ${r.type_k}/${r.type_v}, flash attention ${fa}, batch ${r.n_batch}/${r.n_ubatch}; ` +
        `${r.threads} threads; ` +
        (r.repetitions > 1 ? `mean of ${r.repetitions} runs (prefill ± ${r.prefill_stddev.toFixed(1)}, decode ± ${r.decode_stddev.toFixed(1)}); ` : "") +
        `decode after ${r.decode_depth} positions of context (-d); load not timed; RSS incl. mapped file pages; build ${r.build_commit}`,
    };
  } catch (error) {
    return { engine, loom: false, missing: (error as Error).message.split("\n").slice(0, 3).join(" ") };
  }
}

async function bindingRow(file: BenchFile): Promise<EngineRow> {
  const engine = "llama.cpp (node-llama-cpp binding)";
  if (args["no-binding"]) return { engine, loom: false, missing: "skipped (--no-binding)" };
  log(`  ${engine} …`);
  const out = await runProcess(process.execPath, [BINDING_CHILD, "--model", file.path, "--threads", String(settings.threads),
    "--prompt-tokens", String(settings.promptTokens), "--new-tokens", String(settings.newTokens)], root, childTimeoutMs);
  if (out.code !== 0) return { engine, loom: false, missing: failure(out) };
  const r = lastJsonLine<LlamaBindingResult>(out.stdout);
  if (!r) return { engine, loom: false, missing: `no JSON line in its output: ${out.stdout.slice(-200)}` };
  return {
    engine, loom: false, load_ms: r.load_ms, prefill_tps: r.prefill_tps, decode_tps: r.decode_tps, peak_rss_mb: r.peak_rss_mb,
    kv_mb: f16KvMB(file.model.shape, r.context_size),
    note: `node-llama-cpp defaults: KV f16, flash attention ${String(r.flash_attention)}; context ${r.context_size}; ${r.threads} threads`,
  };
}

/** transformers.js on the HF folder exported to ONNX (fp32 for the F32 group, int8 "q8" for Q8_0); see bench/transformers-js.ts. */
async function transformersRow(hfFolder: string, dtype: MatrixDType): Promise<EngineRow> {
  log(`  ${TRANSFORMERS_JS_ENGINE} …`);
  return measureTransformersJs({ hfFolder, dtype, cacheDir, ...settings, timeoutMs: childTimeoutMs, log });
}

async function benchGroup(model: BenchModel, files: BenchFile[], build: LlamaBenchBuild | undefined, buildError: string | undefined): Promise<GroupResult> {
  const gguf = files.find((f) => f.format === "gguf");
  const hf = files.find((f) => f.format === "hf");
  const main = gguf ?? hf!;
  log(`${model.title} · ${main.dtype.toUpperCase()}`);
  const engines: (() => Promise<EngineRow>)[] = [];
  if (gguf) engines.push(() => loomRow(gguf, "Loom (GGUF)"));
  if (hf) engines.push(() => loomRow(hf, "Loom (HF safetensors folder)"));
  if (gguf) engines.push(() => llamaBenchRow(gguf, build, buildError), () => bindingRow(gguf));
  // Only GPT-2 has an HF folder, and only GPT-2 has an ONNX exporter (src/convert/onnx).
  const onnxSource = model.hfFolder && model.shape.arch === "gpt2" && !args["no-transformers-js"] ? join(cacheDir, `${model.id}-hf`) : undefined;
  if (onnxSource) engines.push(() => transformersRow(onnxSource, main.dtype));
  // Engines take turns, round after round, so a busy spell slows them alike; each keeps its best.
  const rounds: EngineRow[][] = engines.map(() => []);
  for (let round = 1; round <= settings.rounds; round++) {
    if (settings.rounds > 1) log(` round ${round} of ${settings.rounds}`);
    for (const [i, engine] of engines.entries()) rounds[i].push(summary(await engine()));
  }
  const rows = rounds.map(bestOfRounds);
  if (!onnxSource) {
    const missing = args["no-transformers-js"] ? "skipped (--no-transformers-js)" : "no ONNX export of this architecture (src/convert/onnx writes GPT-2 only)";
    rows.push({ engine: TRANSFORMERS_JS_ENGINE, loom: false, missing });
  }
  const described = files.map((f) => `${basename(f.path)} (${(f.weightBytes / 1e6).toFixed(0)} MB of weights${f.format === "hf" ? ", F32 safetensors, same weights" : ""})`);
  return {
    title: `${model.title} · ${main.dtype.toUpperCase()}`,
    files: described.join(" and "),
    weightBytesPerToken: main.weightBytesPerToken,
    rows,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = describeMachine();
  log(`${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB.toFixed(1)} GiB, Node ${machine.node}, load average ${machine.loadAverage.toFixed(1)}`);
  const models = BENCH_MODELS.filter(modelWanted);

  // Measured before every group (other work on a shared machine only lowers it); the best counts.
  const probe = !args["no-bandwidth"] && models.length > 0 ? new BandwidthProbe() : undefined;
  const measureBandwidth = async () => {
    if (!probe) return;
    const b = await probe.measure([settings.threads]);
    log(`memory bandwidth so far: ${[...b.wasm].map(([t, g]) => `${g.toFixed(1)} GB/s on ${t} thread${t === 1 ? "" : "s"}`).join(", ")}`);
  };

  let build: LlamaBenchBuild | undefined;
  let buildError: string | undefined;
  if (!args["no-llama-bench"] && models.length > 0) {
    try {
      build = buildLlamaBench(join(cacheDir, "llama-bench-build"), join(cacheDir, "llama.cpp-src"), log);
    } catch (error) {
      buildError = `llama-bench could not be built (${(error as Error).message.split("\n")[0]}); see the node-llama-cpp binding row`;
      notes.push(buildError);
      log(buildError);
    }
  }

  const groups: GroupResult[] = [];
  for (const model of models) {
    const files = benchFiles(model, cacheDir, log).filter(fileWanted);
    for (const dtype of [...new Set(files.map((f) => f.dtype))]) {
      await measureBandwidth();
      groups.push(await benchGroup(model, files.filter((f) => f.dtype === dtype), build, buildError));
    }
  }
  const bandwidth = probe?.snapshot();
  for (const g of groups) g.bandwidthGBs = bandwidth?.wasm.get(settings.threads) ?? bandwidth?.wasm.get(1);

  let tokenizers: RunReport["tokenizers"];
  if (!args["no-tokenizers"] && wanted("tokenizers")) {
    log("tokenizers (bench/tokenizers.ts) …");
    const { benchTokenizers } = await import("./tokenizers.js");
    tokenizers = await benchTokenizers({ mb: 1, runs: 3 });
  }

  if (!args["no-training"] && wanted("training")) {
    log("training throughput (bench/training.ts) …");
    const { benchTraining, describeTraining } = await import("./training.js");
    notes.push(describeTraining(benchTraining({ threads: settings.threads })));
  }

  const report: RunReport = {
    machine, date: new Date().toISOString().replace(/\.\d+Z$/, "Z"), settings, bandwidth, groups, tokenizers, notes,
    totalSeconds: (performance.now() - started) / 1000,
  };
  console.log(renderReport(report));
  if ((only === undefined || args.write) && !args["no-write"]) {
    writeFileSync(join(root, "BENCHMARKS.md"), benchmarksMarkdown(report));
    log("wrote BENCHMARKS.md");
  }
}

await main();
