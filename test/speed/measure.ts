/**
 * Speed of the backends on the bench's GPT-2-124M-shaped random checkpoints (not a test; numbers for
 * reports). Each configuration runs in a fresh process, so "load" is a cold start: from calling
 * loadCausalLM to the first token's logits (a one-token forward), file already in the page cache.
 *
 *   node dist/test/speed/measure.js [--tokens 64] [--only gpt2-q8_0]
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchFiles } from "../../bench/checkpoints.js";
import { BENCH_MODELS } from "../../bench/model-specs.js";
import { loadCausalLM, type LoadOptions } from "../../src/models/load.js";

interface Run {
  file: string;
  options: LoadOptions;
  tokens: number;
}

interface Result {
  loadMs: number;
  decodeTps: number;
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

async function measure(run: Run): Promise<Result> {
  const start = performance.now();
  const model = await loadCausalLM(run.file, run.options);
  const cache = model.createCache();
  let logits = await model.forward([464], 0, cache);
  const loadMs = performance.now() - start;
  // Warm up (JIT, pool spin-up), then time `tokens` decode steps.
  for (let i = 0; i < 4; i++) logits = await model.forward([argmax(logits)], cache.length, cache);
  const t0 = performance.now();
  for (let i = 0; i < run.tokens; i++) logits = await model.forward([argmax(logits)], cache.length, cache);
  const decodeTps = run.tokens / ((performance.now() - t0) / 1000);
  model.dispose?.();
  return { loadMs, decodeTps };
}

const { values } = parseArgs({
  options: { tokens: { type: "string", default: "64" }, only: { type: "string" }, child: { type: "string" } },
});

if (values.child) {
  console.log(JSON.stringify(await measure(JSON.parse(values.child) as Run)));
} else {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const gpt2 = BENCH_MODELS.find((m) => m.id === "gpt2")!;
  const files = benchFiles(gpt2, join(root, "bench-models"), (line) => console.error(line))
    .filter((f) => !values.only || f.id === values.only);
  const configs: { label: string; options: LoadOptions }[] = [
    { label: "js", options: { backend: "js" } },
    { label: "wasm 1 thread", options: { threads: 1 } },
    { label: "wasm 2 threads", options: { threads: 2 } },
  ];
  const extra = [{ id: "gpt2-f32-hf → q8_0", path: files.find((f) => f.format === "hf")?.path, dtype: "q8_0" as const }];
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const self = fileURLToPath(import.meta.url);
  const runs = [
    ...files.flatMap((f) => configs.map((c) => ({ id: f.id, label: c.label, run: { file: f.path, options: c.options, tokens: Number(values.tokens) } }))),
    ...extra.filter((e) => e.path && !values.only).flatMap((e) => configs.slice(1).map((c) => ({
      id: e.id, label: c.label, run: { file: e.path!, options: { ...c.options, dtype: e.dtype }, tokens: Number(values.tokens) },
    }))),
  ];
  for (const { id, label, run } of runs) {
    const tokens = run.options.backend === "js" ? Math.min(run.tokens, 16) : run.tokens;
    const child = spawnSync(process.execPath, [self, "--child", JSON.stringify({ ...run, tokens })], { encoding: "utf8" });
    if (child.status !== 0) {
      console.log(`${id} ${label}: failed\n${child.stderr}`);
      continue;
    }
    const r = JSON.parse(child.stdout.trim().split("\n").pop()!) as Result;
    console.log(`${id.padEnd(20)} ${label.padEnd(15)} load→first token ${r.loadMs.toFixed(0).padStart(5)} ms   decode ${r.decodeTps.toFixed(1).padStart(6)} tok/s`);
  }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}
