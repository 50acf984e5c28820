// The WebAssembly weight encoders (quantizing on load) write the very bytes of the TypeScript
// reference encoders in src/tensor/quantize.ts, on random blocks of every scale and on the edge
// cases: exact halves, all-zero blocks, ties for the largest magnitude, tiny and huge scales.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createWasmRuntime } from "../../src/kernels/wasm/index.js";
import { quantize } from "../../src/tensor/dtypes.js";

/** Seeded uniform numbers in [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function values(): Float32Array {
  const random = uniform(77);
  const blocks: number[][] = [];
  for (const scale of [1e-9, 1e-6, 1e-3, 0.02, 1, 300, 1e5]) {
    for (let b = 0; b < 40; b++) blocks.push(Array.from({ length: 32 }, () => (random() - 0.5) * scale));
  }
  blocks.push(new Array(32).fill(0));
  // amax 127 → d = 1: every value an exact half lands on a tie of roundf.
  blocks.push(Array.from({ length: 32 }, (_, j) => (j === 0 ? 127 : ((j % 9) - 4) + 0.5)));
  blocks.push(Array.from({ length: 32 }, (_, j) => (j === 5 ? -127 : -((j % 7) + 0.5))));
  // Largest magnitude twice, with both signs: Q4_0 takes the first.
  blocks.push(Array.from({ length: 32 }, (_, j) => (j === 3 ? -2 : j === 9 ? 2 : Math.sin(j))));
  blocks.push(Array.from({ length: 32 }, (_, j) => (j === 3 ? 2 : j === 9 ? -2 : Math.cos(j))));
  // max = -8 → d = 1 for Q4_0: x + 8.5 on and near whole numbers.
  blocks.push(Array.from({ length: 32 }, (_, j) => (j === 0 ? -8 : (j % 16) - 8 + (j > 16 ? 0.5 : 0))));
  return Float32Array.from(blocks.flat());
}

test("WASM q8_0, q4_0 and f16 weight encoders write the TypeScript reference's bytes", () => {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    const x = values();
    for (const dtype of ["q8_0", "q4_0", "f16"] as const) {
      const expected = quantize(x, dtype, 32);
      const out = runtime.allocate(expected.byteLength);
      runtime.encode(dtype, x, out);
      assert.deepEqual(Buffer.from(out), Buffer.from(expected), dtype);
    }
  } finally {
    runtime.dispose();
  }
});
