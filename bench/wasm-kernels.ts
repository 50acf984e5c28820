// Throughput of the WebAssembly kernels on a TinyLlama-sized FFN matrix (5632 × 2048):
// matrix-vector (decode) in GB/s of weights read, and a 64-token prefill in GFLOP/s, on 1 and 2
// threads. Several copies of the matrix are cycled so the weights come from DRAM, not cache.
//   node dist/bench/wasm-kernels.js [--rows 5632] [--cols 2048] [--threads 1,2] [--dtypes f32,q8_0]
import { parseArgs } from "node:util";
import { availableParallelism, cpus, loadavg } from "node:os";
import { createWasmRuntime, createWasmMatrix, type KernelDType, type WasmMatrix, type WasmRuntime } from "../src/kernels/wasm/index.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "5632" },
    cols: { type: "string", default: "2048" },
    threads: { type: "string", default: [...new Set([1, 2, availableParallelism()])].join(",") },
    dtypes: { type: "string", default: "f32,f16,bf16,q8_0,q4_0,q4_k,q6_k" },
    prefill: { type: "string", default: "64" },
  },
});
const rows = Number(args.rows);
const cols = Number(args.cols);
const prefillTokens = Number(args.prefill);
const threadCounts = args.threads.split(",").map(Number);
const dtypes = args.dtypes.split(",") as KernelDType[];

const LAYOUT: Record<KernelDType, { values: number; bytes: number; scaleAt: number[] }> = {
  f32: { values: 1, bytes: 4, scaleAt: [] },
  f16: { values: 1, bytes: 2, scaleAt: [] },
  bf16: { values: 1, bytes: 2, scaleAt: [] },
  q8_0: { values: 32, bytes: 34, scaleAt: [0] },
  q4_0: { values: 32, bytes: 18, scaleAt: [0] },
  q4_k: { values: 256, bytes: 144, scaleAt: [0, 2] },
  q6_k: { values: 256, bytes: 210, scaleAt: [208] },
};

/** Fills `bytes` with plausible weights of `dtype`: no NaNs, infinities or denormals. */
function fillWeights(dtype: KernelDType, bytes: Uint8Array, seed: number): void {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  if (dtype === "f32") {
    const floats = new Float32Array(words.buffer, words.byteOffset, words.length);
    for (let i = 0; i < floats.length; i++) floats[i] = (next() / 2 ** 32 - 0.5) * 0.1;
    return;
  }
  for (let i = 0; i < words.length; i++) words[i] = next();
  if (dtype === "f16" || dtype === "bf16") {
    // Keep every 16-bit value's exponent moderate: |w| within ~[2^-8, 2).
    const halves = new Uint16Array(words.buffer, words.byteOffset, words.length * 2);
    const [mask, base] = dtype === "f16" ? [0x83ff, 0x2000] : [0x807f, 0x3b80];
    for (let i = 0; i < halves.length; i++) halves[i] = (halves[i] & mask) | (base + ((halves[i] >> 10) & 7) * (dtype === "f16" ? 0x400 : 0x80));
    return;
  }
  const { bytes: blockBytes, scaleAt } = LAYOUT[dtype];
  for (let at = 0; at + blockBytes <= bytes.length; at += blockBytes) {
    for (const o of scaleAt) {
      bytes[at + o] = 0x00;
      bytes[at + o + 1] = 0x20; // f16 0x2000 = 2^-7
    }
  }
}

interface Measured {
  matvecGBs: number;
  /** Weight bytes per second of process CPU time (all threads, spinning included). */
  matvecCpuGBs: number;
  prefillGflops: number;
}

/**
 * Milliseconds per call, wall clock and process CPU: the best of several short windows after a
 * warm-up call, since other processes on a shared machine only ever make a window slower.
 */
function timeIt(fn: () => void, windows: number, windowMs: number): { wall: number; cpu: number } {
  fn();
  let best = { wall: Infinity, cpu: Infinity };
  for (let w = 0; w < windows; w++) {
    let calls = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let now = start;
    while (now - start < windowMs) {
      fn();
      calls++;
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = (now - start) / calls;
    if (wall < best.wall) best = { wall, cpu: (cpu.user + cpu.system) / 1000 / calls };
  }
  return best;
}

function measure(runtime: WasmRuntime, dtype: KernelDType): Measured {
  const { values, bytes: blockBytes } = LAYOUT[dtype];
  const matrixBytes = rows * (cols / values) * blockBytes;
  const copies = Math.max(2, Math.ceil((256 << 20) / matrixBytes));
  const matrices: WasmMatrix[] = [];
  for (let c = 0; c < copies; c++) {
    const bytes = runtime.allocate(matrixBytes);
    fillWeights(dtype, bytes, c + 1);
    const matrix = createWasmMatrix({ name: `bench ${dtype}`, dtype, shape: [rows, cols], bytes }, runtime);
    if (!matrix) throw new Error(`no wasm kernel for ${dtype}`);
    matrices.push(matrix);
  }
  const x = runtime.allocateF32(prefillTokens * cols);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) * 2;
  const out = runtime.allocateF32(prefillTokens * rows);
  let next = 0;
  const matvec = timeIt(() => matrices[next++ % copies].matmul(out, x, 1), 12, 60);
  const prefill = timeIt(() => matrices[next++ % copies].matmul(out, x, prefillTokens), 5, 150);
  return {
    matvecGBs: matrixBytes / matvec.wall / 1e6,
    matvecCpuGBs: matrixBytes / matvec.cpu / 1e6,
    prefillGflops: (2 * rows * cols * prefillTokens) / prefill.wall / 1e6,
  };
}

console.log(`${cpus()[0]?.model ?? "cpu"} × ${availableParallelism()}, load average ${loadavg()[0].toFixed(1)} (other processes skew wall-clock figures)`);
console.log(`W (${rows}, ${cols}); matvec = 1 token, prefill = ${prefillTokens} tokens; weights cycled through ≥ 256 MiB`);
console.log("matvec GB/s: weight bytes per wall-clock second (and per second of process CPU time, in brackets); best window");
console.log(["dtype", ...threadCounts.flatMap((t) => [`matvec GB/s ×${t}`, `prefill GFLOP/s ×${t}`])].map((s) => s.padStart(20)).join(""));
for (const dtype of dtypes) {
  const cells: string[] = [];
  for (const threads of threadCounts) {
    const runtime = createWasmRuntime({ threads });
    await runtime.ready();
    const m = measure(runtime, dtype);
    runtime.dispose();
    cells.push(`${m.matvecGBs.toFixed(1)} (${m.matvecCpuGBs.toFixed(1)})`, m.prefillGflops.toFixed(1));
  }
  console.log([dtype, ...cells].map((s) => s.padStart(20)).join(""));
}
