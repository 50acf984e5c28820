import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/train/rng.js";
import { matmulTransB, matmulTransBNaive, transpose } from "../../src/train/ops/matmul.js";
import { allocateArena } from "../../src/train/arena.js";
import { WasmCompute } from "../../src/train/compute.js";

function random32(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

test("blocked matmul equals the naive twin on ragged shapes, overwrite and accumulate", () => {
  const rng = new Rng(11);
  for (const [M, N, K] of [[1, 1, 1], [4, 4, 4], [5, 7, 3], [9, 13, 17], [16, 8, 33], [3, 2, 64]]) {
    const a = random32(M * K, rng);
    const b = random32(N * K, rng);
    for (const accumulate of [false, true]) {
      const init = random32(M * N, rng);
      const fast = init.slice();
      const slow = init.slice();
      matmulTransB(fast, a, b, M, N, K, accumulate);
      matmulTransBNaive(slow, a, b, M, N, K, accumulate);
      let maxDiff = 0;
      for (let i = 0; i < fast.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fast[i] - slow[i]));
      assert.ok(maxDiff < 1e-4, `M=${M} N=${N} K=${K} accumulate=${accumulate}: max diff ${maxDiff}`);
    }
  }
});

test("a row range computes exactly those rows", () => {
  const rng = new Rng(12);
  const M = 11, N = 6, K = 5;
  const a = random32(M * K, rng);
  const b = random32(N * K, rng);
  const whole = new Float32Array(M * N);
  const parts = new Float32Array(M * N);
  matmulTransB(whole, a, b, M, N, K, false);
  matmulTransB(parts, a, b, M, N, K, false, 0, 4);
  matmulTransB(parts, a, b, M, N, K, false, 4, 9);
  matmulTransB(parts, a, b, M, N, K, false, 9, 11);
  assert.deepEqual(parts, whole);
});

test("transpose moves (r, c) to (c, r)", () => {
  const rng = new Rng(13);
  const R = 37, C = 45;
  const x = random32(R * C, rng);
  const y = new Float32Array(R * C);
  transpose(y, x, R, C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) assert.equal(y[c * R + r], x[r * C + c]);
});

test("the threaded WebAssembly compute: matmul (overwrite and accumulate) and transpose equal the TypeScript twins", () => {
  const M = 70, N = 300, K = 257;
  const { views, memory } = allocateArena("f32", "wasm", (alloc) => ({
    a: alloc(M * K), b: alloc(N * K), out: alloc(M * N), t: alloc(N * K),
    accumulator: alloc(M * N), scratch: alloc(WasmCompute.scratchSize(2, 16, 8)),
  }));
  const compute = new WasmCompute(memory!, 2, views.accumulator as Float32Array, views.scratch as Float32Array);
  try {
    const rng = new Rng(14);
    for (const v of [views.a, views.b]) for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    const expected = new Float32Array(M * N);
    for (const accumulate of [false, true]) {
      const init = random32(M * N, rng);
      views.out.set(init);
      expected.set(init);
      compute.matmul(views.out, views.a, views.b, M, N, K, accumulate);
      matmulTransBNaive(expected, views.a, views.b, M, N, K, accumulate);
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(views.out[i] - expected[i]));
      assert.ok(maxDiff < 1e-3, `accumulate=${accumulate}: max diff ${maxDiff}`);
    }
    compute.transpose(views.t, views.b, N, K);
    const reference = new Float32Array(N * K);
    transpose(reference, views.b, N, K);
    assert.deepEqual(views.t, reference);
    assert.throws(() => compute.transpose(new Float32Array(N * K), views.b, N, K), /not a Float32Array view/);
  } finally {
    compute.dispose();
  }
});
