// f32, f16 and bf16 matmuls in WebAssembly against an f64 loop, on 1 and 2 threads.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createWasmRuntime, createWasmMatrix, type WasmRuntime } from "../../src/kernels/wasm/index.js";
import { bf16ToNumber, denseMatmulRef, f16ToNumber } from "./reference.js";
import { activations, bf16Weights, f16Weights, seeded } from "./random.js";
import { assertClose, assertSameBits } from "./compare.js";

const runtimes = [1, 2].map((threads) => createWasmRuntime({ threads, minParallelWork: 0 }));
before(async () => {
  await Promise.all(runtimes.map((r) => r.ready()));
  assert.ok(runtimes[1].parallel, "the 2-thread runtime runs its worker");
});
after(() => runtimes.forEach((r) => r.dispose()));

const SHAPES: Array<[number, number]> = [[1, 1], [3, 7], [5, 8], [7, 33], [13, 64], [37, 101], [66, 256]];
const TOKENS = [1, 3, 4, 5, 17];

interface DenseCase {
  bytes: Uint8Array;
  values: Float64Array;
}

function denseWeights(dtype: "f32" | "f16" | "bf16", random: () => number, count: number): DenseCase {
  if (dtype === "f32") {
    const w = activations(random, count);
    return { bytes: new Uint8Array(w.buffer), values: Float64Array.from(w) };
  }
  const bits = dtype === "f16" ? f16Weights(random, count) : bf16Weights(random, count);
  const decode = dtype === "f16" ? f16ToNumber : bf16ToNumber;
  return { bytes: new Uint8Array(bits.buffer), values: Float64Array.from(bits, decode) };
}

function run(runtime: WasmRuntime, dtype: "f32" | "f16" | "bf16", bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Float32Array {
  const matrix = createWasmMatrix({ dtype, shape: [rows, cols], bytes }, runtime);
  assert.ok(matrix);
  const out = new Float32Array(n * rows);
  matrix.matmul(out, x, n);
  return out;
}

for (const dtype of ["f32", "f16", "bf16"] as const) {
  test(`${dtype} matmul matches an f64 loop; prefill, decode and thread counts agree bit for bit`, () => {
    const random = seeded(dtype.length * 7919);
    let worst = { maxDiff: 0, worstRatio: 0 };
    for (const [rows, cols] of SHAPES) {
      const w = denseWeights(dtype, random, rows * cols);
      for (const n of TOKENS) {
        const x = activations(random, n * cols);
        const want = denseMatmulRef(w.values, rows, cols, x, n);
        const single = run(runtimes[0], dtype, w.bytes, rows, cols, x, n);
        const label = `${dtype} (${rows}, ${cols}) × ${n} tokens`;
        // A reordered f32 sum of `cols` products: error ≤ ~cols · 2⁻²⁴ · Σ|products|.
        const agreement = assertClose(single, want.out, want.magnitude, cols + 8, label);
        if (agreement.maxDiff > worst.maxDiff) worst = agreement;
        assertSameBits(run(runtimes[1], dtype, w.bytes, rows, cols, x, n), single, `${label}, 2 threads`);
        for (let t = 0; t < n; t++) {
          const alone = run(runtimes[0], dtype, w.bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1);
          assertSameBits(alone, single.subarray(t * rows, (t + 1) * rows), `${label}, token ${t} alone`);
        }
      }
    }
    console.log(`${dtype}: max |wasm - f64 reference| = ${worst.maxDiff.toExponential(2)} (${(worst.worstRatio * 100).toFixed(1)}% of bound)`);
  });
}

test("f16 and bf16 weights give exactly the f32 result of the same values", () => {
  const random = seeded(99);
  const [rows, cols, n] = [19, 72, 6];
  const x = activations(random, n * cols);
  for (const dtype of ["f16", "bf16"] as const) {
    const w = denseWeights(dtype, random, rows * cols);
    const asF32 = Float32Array.from(w.values);
    const half = run(runtimes[1], dtype, w.bytes, rows, cols, x, n);
    const full = run(runtimes[1], "f32", new Uint8Array(asF32.buffer), rows, cols, x, n);
    assertSameBits(half, full, `${dtype} vs f32`);
  }
});

test("a large matmul splits across threads and matches the single-thread result", () => {
  const random = seeded(5);
  // Decode (1 token) reads rows a quarter of the matrix apart, whatever the chunk: 1003 rows leave
  // three rows over; prefill takes blocks of neighbouring rows.
  for (const [rows, cols, n] of [[1003, 512, 9], [1003, 512, 1], [4096, 96, 1]]) {
    const w = denseWeights("f32", random, rows * cols);
    const x = activations(random, n * cols);
    const single = run(runtimes[0], "f32", w.bytes, rows, cols, x, n);
    assertSameBits(run(runtimes[1], "f32", w.bytes, rows, cols, x, n), single, `${rows} rows × ${n} tokens`);
    const want = denseMatmulRef(w.values, rows, cols, x, n);
    assertClose(single, want.out, want.magnitude, cols + 8, `${rows} rows × ${n} tokens`);
  }
});
