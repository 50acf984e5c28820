// Where a decode step's time goes, for one model file: the matrix products by shape (µs per call
// and the GB/s of weights they read), attention (its pooled part and the rest), norms and
// activations, and the main thread's serial remainder (JavaScript, RoPE, KV-cache writes), while
// the worker threads wait. The numbers behind the "where the time goes" notes of #4.
//   node dist/bench/decode-profile.js --model FILE [--threads 2] [--prompt-tokens 128]
//        [--new-tokens 128] [--warmup 64]
// It times the runtime's entry points by wrapping them (a few hundred ns per call of overhead),
// so the total is a little above `loom bench`'s decode figure.
import { parseArgs } from "node:util";
import { loadCausalLM } from "../src/models/load.js";
import { WasmOps, WasmRuntime, type KernelDType, type MatmulPart } from "../src/kernels/wasm/index.js";
import { WorkerPool } from "../src/kernels/wasm/pool.js";

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    threads: { type: "string", default: "2" },
    "prompt-tokens": { type: "string", default: "128" },
    "new-tokens": { type: "string", default: "128" },
    warmup: { type: "string", default: "64" },
  },
});
if (!args.model) {
  console.error("usage: node dist/bench/decode-profile.js --model FILE [--threads 2] [--prompt-tokens 128] [--new-tokens 128] [--warmup 64]");
  process.exit(2);
}
const threads = Number(args.threads), promptTokens = Number(args["prompt-tokens"]);
const newTokens = Number(args["new-tokens"]), warmup = Number(args.warmup);

/** Bytes of weights per element for the dtypes a decode reads (blocks of 32 or 256 values). */
const BYTES_PER_VALUE: Partial<Record<KernelDType, number>> = {
  f32: 4, f16: 2, bf16: 2, q8_0: 34 / 32, q4_0: 18 / 32, q4_k: 144 / 256, q6_k: 210 / 256,
};

interface Tally { calls: number; ms: number; bytes: number }
const shapes = new Map<string, Tally>();
const totals = { pool: 0, poolJobs: 0, attention: 0, attentionPool: 0, elementwise: 0, matmulOutsidePool: 0 };
let recording = false;
let poolMs = 0; // time inside WorkerPool.run so far (recording or not)

function tally(key: string, ms: number, bytes: number): void {
  const t = shapes.get(key) ?? { calls: 0, ms: 0, bytes };
  t.calls++;
  t.ms += ms;
  shapes.set(key, t);
}

// The wrappers: each times a call and, for the pooled kinds, the part spent inside the pool.
const poolRun = WorkerPool.prototype.run;
WorkerPool.prototype.run = function (this: WorkerPool, chunks: number, runChunk: (chunk: number, slot: number) => void): boolean {
  const start = performance.now();
  const pooled = poolRun.call(this, chunks, runChunk);
  const ms = performance.now() - start;
  poolMs += ms;
  if (recording && pooled) { totals.pool += ms; totals.poolJobs++; }
  return pooled;
};
const matmulMany = WasmRuntime.prototype.matmulMany;
WasmRuntime.prototype.matmulMany = function (this: WasmRuntime, dtype: KernelDType, parts: readonly MatmulPart[], cols: number, x: Float32Array, n: number): void {
  const pool0 = poolMs, start = performance.now();
  matmulMany.call(this, dtype, parts, cols, x, n);
  const ms = performance.now() - start;
  if (!recording) return;
  const rows = parts.reduce((sum, p) => sum + p.rows, 0);
  tally(`${dtype} ${parts.map((p) => p.rows).join("+")} × ${cols}`, ms, rows * cols * (BYTES_PER_VALUE[dtype] ?? 4));
  totals.matmulOutsidePool += ms - (poolMs - pool0);
};
const attention = WasmOps.prototype.flashAttention;
WasmOps.prototype.flashAttention = function (this: WasmOps, ...a: Parameters<WasmOps["flashAttention"]>): void {
  const pool0 = poolMs, start = performance.now();
  attention.apply(this, a);
  if (recording) { totals.attention += performance.now() - start; totals.attentionPool += poolMs - pool0; }
};
for (const name of ["gelu", "swiglu", "geglu", "add", "addBias", "layerNorm", "rmsNorm"] as const) {
  const original = WasmOps.prototype[name] as (...a: unknown[]) => void;
  (WasmOps.prototype as unknown as Record<string, unknown>)[name] = function (this: WasmOps, ...a: unknown[]): void {
    const start = performance.now();
    original.apply(this, a);
    if (recording) totals.elementwise += performance.now() - start;
  };
}

const model = await loadCausalLM(args.model, { threads }).catch((error: Error) => {
  console.error(`decode-profile: ${error.message}`);
  process.exit(1);
});
const cache = model.createCache();
let seed = 12345;
const nextId = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % Math.min(1000, model.config.vocabSize);
await model.forward(Array.from({ length: promptTokens }, nextId), 0, cache);
const logits = new Float32Array(model.config.vocabSize);
let position = promptTokens;
for (let i = 0; i < warmup; i++) await model.forward([nextId()], position++, cache, { logitsOut: logits });
// The measured tokens continue where the bench's would (after the prompt and the warm-up).
recording = true;
const start = performance.now();
for (let i = 0; i < newTokens; i++) await model.forward([nextId()], position++, cache, { logitsOut: logits });
const total = performance.now() - start;
recording = false;
cache.release?.();
model.dispose?.();

const per = (ms: number) => (ms / newTokens).toFixed(3).padStart(7);
const matmulMs = [...shapes.values()].reduce((sum, t) => sum + t.ms, 0);
const matmulBytes = [...shapes.values()].reduce((sum, t) => sum + (t.bytes * t.calls) / newTokens, 0);
const rest = total - matmulMs - totals.attention - totals.elementwise;
console.log(`${args.model}: ${threads} thread(s), ${newTokens} tokens decoded after ${promptTokens + warmup} positions`);
console.log(`decode ${per(total)} ms per token (${((newTokens / total) * 1000).toFixed(1)} tokens/s)`);
console.log(`  matrix products     ${per(matmulMs)} ms  ${(matmulBytes / 1e6).toFixed(0)} MB a token → ${(matmulBytes / (matmulMs / newTokens) / 1e6).toFixed(1)} GB/s; outside the pool (job setup, activation quantization, copies) ${per(totals.matmulOutsidePool)} ms`);
for (const [key, t] of [...shapes].sort((a, b) => b[1].ms - a[1].ms)) {
  const us = (t.ms * 1000) / t.calls;
  console.log(`    ${key.padEnd(28)} ${(t.calls / newTokens).toFixed(0).padStart(3)}/token ${us.toFixed(1).padStart(8)} µs ${(t.bytes / us / 1000).toFixed(1).padStart(6)} GB/s ${per(t.ms)} ms`);
}
console.log(`  attention           ${per(totals.attention)} ms  (in the pool ${per(totals.attentionPool).trim()} ms; merge, checks and setup ${per(totals.attention - totals.attentionPool).trim()} ms)`);
console.log(`  norms, activations  ${per(totals.elementwise)} ms`);
console.log(`  everything else     ${per(rest)} ms  (JavaScript, RoPE, KV-cache writes, embedding, logits)`);
console.log(`  pooled jobs         ${(totals.poolJobs / newTokens).toFixed(0)} a token, ${per(totals.pool).trim()} ms inside them; the main thread works alone for ${per(total - totals.pool).trim()} ms a token (${((100 * (total - totals.pool)) / total).toFixed(0)}%)`);
