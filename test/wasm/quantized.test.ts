// Quantized kernels against their TypeScript twins: activation quantization bit for bit, matmuls
// up to f32 summation order (the integer part is exact), on 1 and 2 threads.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createWasmRuntime, createWasmMatrix, type WasmRuntime } from "../../src/kernels/wasm/index.js";
import { dequantizeRow } from "../../src/tensor/dtypes.js";
import {
  BLOCK, dequantizeRowRef, denseMatmulRef, quantizedMatmulRef, quantizeQ8_0Ref, quantizeQ8_KRef, type QuantDType,
} from "./reference.js";
import { activations, edgeCaseActivations, quantizedWeights, seeded } from "./random.js";
import { assertSameBits } from "./compare.js";

const runtimes = [1, 2].map((threads) => createWasmRuntime({ threads, minParallelWork: 0 }));
before(async () => {
  await Promise.all(runtimes.map((r) => r.ready()));
  assert.ok(runtimes[1].parallel, "the 2-thread runtime runs its worker");
});
after(() => runtimes.forEach((r) => r.dispose()));
const [single, dual] = runtimes;

const DTYPES: QuantDType[] = ["q8_0", "q4_0", "q4_k", "q6_k"];

function run(runtime: WasmRuntime, dtype: QuantDType, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Float32Array {
  const matrix = createWasmMatrix({ dtype, shape: [rows, cols], bytes }, runtime);
  assert.ok(matrix);
  const out = new Float32Array(n * rows);
  matrix.matmul(out, x, n);
  return out;
}

test("Q8_0 activation quantization matches llama.cpp's x86 rule bit for bit", () => {
  const random = seeded(11);
  const count = 32 * 200;
  for (const x of [activations(random, count), edgeCaseActivations(random, count, 32)]) {
    const input = single.allocateF32(count);
    input.set(x);
    const qBytes = single.allocate(count * 2);
    const dBytes = single.allocate((count / 32) * 4);
    single.kernels.quantizeQ8_0(input.byteOffset, qBytes.byteOffset, dBytes.byteOffset, count);
    const q = new Int16Array(qBytes.buffer, qBytes.byteOffset, count);
    const d = new Float32Array(dBytes.buffer, dBytes.byteOffset, count / 32);
    const want = quantizeQ8_0Ref(x);
    assert.deepEqual(Array.from(q), Array.from(want.q));
    assert.deepEqual(Array.from(d), Array.from(want.d));
  }
});

test("Q8_0 activation quantization: blocks with NaN, ±∞, tiny values, zeros and huge values", () => {
  const random = seeded(13);
  const x = activations(random, 32 * 8);
  x[32 * 1 + 5] = NaN; //               a NaN among finite values
  x[32 * 2 + 31] = Infinity; //         +∞
  x[32 * 3] = -Infinity; //             -∞
  for (let j = 0; j < 32; j++) x[32 * 4 + j] = (j - 16) * 1e-38; // 127 / amax overflows to ∞
  x.fill(0, 32 * 5, 32 * 6);
  x[32 * 5 + 7] = -0; //                zeros, one negative
  x[32 * 6 + 3] = 3e38; //              the largest finite magnitudes
  x[32 * 6 + 4] = -3.4028234663852886e38;
  const input = single.allocateF32(x.length);
  input.set(x);
  const qBytes = single.allocate(x.length * 2);
  const dBytes = single.allocate((x.length / 32) * 4);
  single.kernels.quantizeQ8_0(input.byteOffset, qBytes.byteOffset, dBytes.byteOffset, x.length);
  const q = new Int16Array(qBytes.buffer, qBytes.byteOffset, x.length);
  const d = new Float32Array(dBytes.buffer, dBytes.byteOffset, x.length / 32);
  const want = quantizeQ8_0Ref(x);
  const block = (values: ArrayLike<number>, b: number) => Array.from(values).slice(32 * b, 32 * b + 32);
  // Finite values and a finite 127 / amax: exactly the reference.
  for (const b of [0, 5, 6, 7]) {
    assert.deepStrictEqual(block(q, b), block(want.q, b), `block ${b}`);
    assert.ok(Object.is(d[b], want.d[b]), `block ${b}: d ${d[b]} vs ${want.d[b]}`);
  }
  // A non-finite value: the block's scale is not finite either, so its products cannot pass for
  // numbers; no quantized value is made up from it.
  for (const b of [1, 2, 3]) {
    assert.ok(!Number.isFinite(d[b]), `block ${b}: d ${d[b]}`);
    assert.deepStrictEqual(block(q, b), new Array(32).fill(0), `block ${b}`);
  }
  // So small that 127 / amax is ∞: the scale rounds to 0 in f16 (as the reference's), so the
  // block adds exactly nothing whatever its quantized values.
  assert.ok(Object.is(d[4], want.d[4]) && d[4] === 0, `block 4: d ${d[4]}`);
});

test("Q8_K activation quantization matches llama.cpp's quantize_row_q8_K bit for bit", () => {
  const random = seeded(12);
  const count = 256 * 40;
  for (const x of [activations(random, count), edgeCaseActivations(random, count, 256)]) {
    const input = single.allocateF32(count);
    input.set(x);
    const qBytes = single.allocate(count * 2);
    const dBytes = single.allocate((count / 256) * 4);
    const sBytes = single.allocate((count / 32) * 4);
    single.kernels.quantizeQ8_K(input.byteOffset, qBytes.byteOffset, dBytes.byteOffset, sBytes.byteOffset, count);
    const q = new Int16Array(qBytes.buffer, qBytes.byteOffset, count);
    const d = new Float32Array(dBytes.buffer, dBytes.byteOffset, count / 256);
    const sums = new Int32Array(sBytes.buffer, sBytes.byteOffset, count / 32);
    const want = quantizeQ8_KRef(x);
    assert.deepEqual(Array.from(q), Array.from(want.q));
    assert.deepEqual(Array.from(d), Array.from(want.d));
    for (let s = 0; s < count / 32; s++) {
      let total = 0;
      for (let j = 0; j < 32; j++) total += want.q[32 * s + j];
      assert.equal(sums[s], total, `sum of sub-block ${s}`);
    }
  }
});

test("Q8_K activation quantization: blocks with ∞, tiny values and zeros as the reference", () => {
  const x = activations(seeded(14), 256 * 5);
  x[256 * 1 + 200] = Infinity; //      +∞ among finite values
  for (let j = 0; j < 256; j++) x[256 * 2 + j] = (j - 128) * 1e-39; // -127 / max overflows
  x.fill(0, 256 * 3, 256 * 4);
  const input = single.allocateF32(x.length);
  input.set(x);
  const qBytes = single.allocate(x.length * 2);
  const dBytes = single.allocate((x.length / 256) * 4);
  const sBytes = single.allocate((x.length / 32) * 4);
  single.kernels.quantizeQ8_K(input.byteOffset, qBytes.byteOffset, dBytes.byteOffset, sBytes.byteOffset, x.length);
  const q = Array.from(new Int16Array(qBytes.buffer, qBytes.byteOffset, x.length));
  const d = new Float32Array(dBytes.buffer, dBytes.byteOffset, x.length / 256);
  const want = quantizeQ8_KRef(x);
  for (const b of [0, 1, 3, 4]) {
    assert.deepStrictEqual(q.slice(256 * b, 256 * b + 256), Array.from(want.q).slice(256 * b, 256 * b + 256), `block ${b}`);
    assert.ok(Object.is(d[b], want.d[b]), `block ${b}: d ${d[b]} vs ${want.d[b]}`);
  }
  // Too small to scale: d is 0, as the reference's, so the block adds nothing.
  assert.ok(Object.is(d[2], want.d[2]) && d[2] === 0, `block 2: d ${d[2]}`);
});

for (const dtype of DTYPES) {
  const block = BLOCK[dtype].values;
  const shapes: Array<[number, number]> = block === 32
    ? [[1, 32], [5, 96], [9, 224], [13, 256], [67, 512]]
    : [[1, 256], [5, 512], [13, 256], [67, 768]];

  test(`${dtype} matmul equals the integer reference bit for bit, on 1 and 2 threads, prefill and decode`, () => {
    const random = seeded(dtype.charCodeAt(1) * 131 + block);
    for (const [rows, cols] of shapes) {
      const w = quantizedWeights(random, dtype, rows, cols);
      for (const n of [1, 3, 4, 17]) {
        const x = n === 17 ? edgeCaseActivations(random, n * cols, block) : activations(random, n * cols);
        const want = quantizedMatmulRef(dtype, w, rows, cols, x, n);
        const label = `${dtype} (${rows}, ${cols}) × ${n} tokens`;
        assertSameBits(run(single, dtype, w, rows, cols, x, n), want, `${label}, 1 thread`);
        assertSameBits(run(dual, dtype, w, rows, cols, x, n), want, `${label}, 2 threads`);
        for (let t = 0; t < n; t++) {
          const alone = run(dual, dtype, w, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1);
          assertSameBits(alone, want.subarray(t * rows, (t + 1) * rows), `${label}, token ${t} alone`);
        }
      }
    }
  });

  test(`${dtype} block reader agrees with tensor/dtypes dequantizeRow, and the product with plain f32 math`, () => {
    const random = seeded(block + 3);
    const [rows, cols, n] = [6, block === 32 ? 128 : 512, 5];
    const w = quantizedWeights(random, dtype, rows, cols);
    const rowBytes = (cols / block) * BLOCK[dtype].bytes;
    const values = new Float64Array(rows * cols);
    const theirs = new Float32Array(cols);
    for (let r = 0; r < rows; r++) {
      const mine = dequantizeRowRef(dtype, w, r * rowBytes, cols);
      dequantizeRow(dtype, w, r * rowBytes, cols, theirs);
      for (let k = 0; k < cols; k++) {
        assert.ok(Math.abs(mine[k] - theirs[k]) <= 1e-6 * Math.abs(mine[k]) + 1e-9, `${dtype} row ${r} value ${k}: ${mine[k]} vs ${theirs[k]}`);
      }
      values.set(mine, r * cols);
    }
    // The quantized product equals the f32 product up to the activations' quantization error.
    const x = activations(random, n * cols);
    const exact = denseMatmulRef(values, rows, cols, x, n);
    const got = run(dual, dtype, w, rows, cols, x, n);
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - exact.out[i]) <= 0.02 * exact.magnitude[i], `${dtype} output ${i}: ${got[i]} vs f32 ${exact.out[i]}`);
    }
  });
}

test("q8_0 and q4_0 scales at the edges of f16 (subnormal, zero, negative, largest) match the reference bit for bit", () => {
  const random = seeded(31);
  const edges = [0x0001, 0x03ff, 0x0000, 0x8000, 0x8400, 0x7bff, 0xfbff, 0x3c00, 0x0400];
  for (const dtype of ["q8_0", "q4_0"] as const) {
    const [rows, cols] = [10, 288];
    const w = quantizedWeights(random, dtype, rows, cols);
    for (let b = 0; b < rows * (cols / 32); b++) {
      const h = edges[b % edges.length];
      w[b * BLOCK[dtype].bytes] = h & 0xff;
      w[b * BLOCK[dtype].bytes + 1] = h >> 8;
    }
    for (const n of [1, 2, 6]) {
      const x = activations(random, n * cols);
      const want = quantizedMatmulRef(dtype, w, rows, cols, x, n);
      assertSameBits(run(dual, dtype, w, rows, cols, x, n), want, `${dtype} edge scales × ${n} tokens`);
    }
  }
});

test("q8_0 prefill on rows too wide for the tiled kernel's scratch falls back to one token at a time, same bits", () => {
  const random = seeded(41);
  const [rows, cols, n] = [3, 61440, 5];
  const w = quantizedWeights(random, "q8_0", rows, cols);
  const x = activations(random, n * cols);
  assertSameBits(run(single, "q8_0", w, rows, cols, x, n), quantizedMatmulRef("q8_0", w, rows, cols, x, n), "q8_0 (3, 61440) × 5");
});

test("a large quantized prefill splits across threads and matches the single-thread result", () => {
  const random = seeded(77);
  for (const dtype of DTYPES) {
    const [rows, cols, n] = [301, 512, 9];
    const w = quantizedWeights(random, dtype, rows, cols);
    const x = activations(random, n * cols);
    assertSameBits(run(dual, dtype, w, rows, cols, x, n), run(single, dtype, w, rows, cols, x, n), `${dtype} 301 rows`);
  }
});
