// 16-bit float conversion inside the kernels: f32 → f16 rounding (used for Q8_0 activation scales)
// and f16/bf16 → f32 decoding of weights (checked on every finite bit pattern through a matmul).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createWasmRuntime, createWasmMatrix } from "../../src/kernels/wasm/index.js";
import { f32ToF16 as teamF32ToF16 } from "../../src/tensor/dtypes.js";
import { bf16ToNumber, f16ToNumber, numberToF16 } from "./reference.js";
import { seeded } from "./random.js";

const runtime = createWasmRuntime({ threads: 1 });
after(() => runtime.dispose());

test("f32 → f16 rounds to nearest, ties to even, like an arithmetic reference", () => {
  const random = seeded(1);
  const values: number[] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -26, 1e-10];
  // Every finite half, and every midpoint between neighbours (where ties-to-even decides).
  for (let h = 0; h < 0x7c00; h++) {
    values.push(f16ToNumber(h), -f16ToNumber(h));
    if (h + 1 < 0x7c00) values.push(Math.fround((f16ToNumber(h) + f16ToNumber(h + 1)) / 2));
  }
  for (let i = 0; i < 20000; i++) values.push(Math.fround((random() - 0.5) * 2 ** (random() * 40 - 28)));
  for (const v of values) {
    const x = Math.fround(v);
    const want = numberToF16(x);
    assert.equal(runtime.kernels.f32ToF16(x), want, `wasm f32ToF16(${x})`);
    assert.equal(teamF32ToF16(x), want, `tensor/half f32ToF16(${x})`);
  }
});

/**
 * W has every pattern once; one-hot tokens read W back column by column: out[t, r] = W[r, t]
 * (a sum of w · 1 and zeros, so -0 reads back as +0: compared with ===).
 */
function readBackThroughMatmul(dtype: "f16" | "bf16", patterns: Uint16Array): Float32Array {
  const cols = 8;
  const rows = patterns.length / cols;
  const matrix = createWasmMatrix({ dtype, shape: [rows, cols], bytes: new Uint8Array(patterns.buffer) }, runtime);
  assert.ok(matrix);
  const x = new Float32Array(cols * cols);
  for (let t = 0; t < cols; t++) x[t * cols + t] = 1;
  const out = new Float32Array(cols * rows);
  matrix.matmul(out, x, cols);
  return out;
}

test("f16 weights decode exactly, subnormals included, for every finite pattern", () => {
  const patterns = new Uint16Array(0x10000 - 0x800); // all but the 2048 infinities and NaNs
  let i = 0;
  for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) patterns[i++] = h;
  assert.equal(i, patterns.length);
  const out = readBackThroughMatmul("f16", patterns);
  const rows = patterns.length / 8;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < 8; t++) {
      const want = f16ToNumber(patterns[r * 8 + t]);
      assert.ok(out[t * rows + r] === want, `f16 pattern 0x${patterns[r * 8 + t].toString(16)}`);
    }
  }
});

test("bf16 weights decode exactly for every finite pattern", () => {
  const patterns = new Uint16Array(0x10000 - 0x100); // all but the 256 infinities and NaNs
  let i = 0;
  for (let h = 0; h < 0x10000; h++) if ((h & 0x7f80) !== 0x7f80) patterns[i++] = h;
  assert.equal(i, patterns.length);
  const out = readBackThroughMatmul("bf16", patterns);
  const rows = patterns.length / 8;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < 8; t++) {
      assert.ok(out[t * rows + r] === bf16ToNumber(patterns[r * 8 + t]), `bf16 pattern 0x${patterns[r * 8 + t].toString(16)}`);
    }
  }
});
