// Micro-benchmark of the non-matmul kernels of a GPT-2 decode step, TypeScript vs WebAssembly
// (src/kernels/wasm/ops.ts): µs per call, the best of several timed rounds.
//   node dist/bench/ops.js [--rounds 7]
import { parseArgs } from "node:util";
import { gelu, add } from "../src/kernels/elementwise.js";
import { layerNorm } from "../src/kernels/norms.js";
import { createFlashScratch, flashAttention, type FlashAttentionDims } from "../src/kernels/flash-attention.js";
import { createWasmRuntime, WasmOps } from "../src/kernels/wasm/index.js";

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const rounds = Number(args.rounds);

/** Best µs per call of fn over `rounds` rounds of enough calls to last ~20 ms. */
function timeIt(fn: () => void): number {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    if (performance.now() - t0 > 20) break;
    calls *= 2;
  }
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    best = Math.min(best, ((performance.now() - t0) * 1000) / calls);
  }
  return best;
}

function fill(x: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    x[i] = (s / 2 ** 32 - 0.5) * 4;
  }
  return x;
}

const runtime = createWasmRuntime({ threads: 1 });
const ops = new WasmOps(runtime);
const rows: Array<[string, number, number]> = [];

for (const positions of [256, 1024]) {
  const d: FlashAttentionDims = { nQ: 1, startPos: positions - 1, nHeads: 12, nKVHeads: 12, headDim: 64, scale: 1 / 8 };
  const [q, k, v] = [fill(runtime.allocateF32(768), 1), fill(runtime.allocateF32(positions * 768), 2), fill(runtime.allocateF32(positions * 768), 3)];
  const out = runtime.allocateF32(768);
  const scratch = createFlashScratch(12, 12, 64);
  rows.push([
    `decode attention, 12 heads × 64, ${positions} positions`,
    timeIt(() => flashAttention(out, q, k, v, d, scratch)),
    timeIt(() => ops.flashAttention(out, q, k, v, d)),
  ]);
}

const x = fill(runtime.allocateF32(3072), 4), y = runtime.allocateF32(3072);
rows.push(["gelu, 3072 floats", timeIt(() => gelu(y, x, 3072)), timeIt(() => ops.gelu(y, x, 3072))]);
const h = fill(runtime.allocateF32(768), 5), w = fill(runtime.allocateF32(768), 6), b = fill(runtime.allocateF32(768), 7), o = runtime.allocateF32(768);
rows.push(["layerNorm, 1 × 768", timeIt(() => layerNorm(o, h, w, b, 1, 768, 1e-5)), timeIt(() => ops.layerNorm(o, h, w, b, 1, 768, 1e-5))]);
rows.push(["add, 768 floats", timeIt(() => add(o, h, w, 768)), timeIt(() => ops.add(o, h, w, 768))]);
runtime.dispose();

console.log("kernel".padEnd(48) + "TS µs".padStart(10) + "WASM µs".padStart(10) + "speed-up".padStart(10));
for (const [name, ts, wasm] of rows) {
  console.log(name.padEnd(48) + ts.toFixed(2).padStart(10) + wasm.toFixed(2).padStart(10) + `${(ts / wasm).toFixed(1)}×`.padStart(10));
}
