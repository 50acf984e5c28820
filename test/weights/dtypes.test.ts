import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DTYPES, F16_TO_F32, bf16ToF32, blockBytes, blockSize, dequantize, dequantizeRow, f32ToBf16, f32ToF16,
  quantize, rowBytes, tensorBytes,
} from "../../src/tensor/dtypes.js";
import type { DType } from "../../src/tensor/tensor.js";
import { assertLoomError, gaussian, seededRandom, slowNearestF16 } from "./helpers.js";

test("block sizes match GGML's block structs", () => {
  // Sizes from the struct fields in ggml-common.h: halves are 2 bytes, QK_K = 256.
  const expected: Record<DType, [number, number]> = {
    f32: [1, 4], f16: [1, 2], bf16: [1, 2],
    q8_0: [32, 34], q4_0: [32, 18], q4_1: [32, 20], q5_0: [32, 22], q5_1: [32, 24],
    q4_k: [256, 144], q5_k: [256, 176], q6_k: [256, 210],
  };
  for (const dtype of DTYPES) assert.deepEqual([blockSize(dtype), blockBytes(dtype)], expected[dtype], dtype);
  assert.equal(rowBytes("q8_0", 64), 68);
  assert.equal(tensorBytes("q6_k", [3, 512]), 3 * 2 * 210);
  assertLoomError(() => rowBytes("q4_k", 100), "q4_k", "256", "100");
});

test("f16 → f32 table decodes every bit pattern", () => {
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
    const expected = e === 31 ? (m ? NaN : sign * Infinity) : e === 0 ? sign * m * Math.pow(2, -24) : sign * Math.pow(2, e - 15) * (1 + m / 1024);
    assert.ok(Object.is(F16_TO_F32[h], expected), `h=${h.toString(16)}`);
  }
});

test("f32 → f16 rounds to nearest, ties to even, against a brute-force twin", () => {
  for (let h = 0; h < 65536; h++) {
    if (((h >> 10) & 31) === 31 && (h & 1023) !== 0) continue; // NaN payloads
    assert.equal(f32ToF16(F16_TO_F32[h]), h, `round trip of ${h.toString(16)}`);
  }
  const random = seededRandom(1);
  const bits = new Uint32Array(1), float = new Float32Array(bits.buffer);
  const samples: number[] = [65519.99, 65520, 65504, 1e-8, 2.9802322e-8, 5.96e-8, -0.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
  for (let i = 0; i < 20000; i++) {
    // Random exponents across the f16 range and its edges, random mantissas.
    bits[0] = ((random() < 0.5 ? 0x80000000 : 0) | ((Math.floor(random() * 50) + 97) << 23) | Math.floor(random() * 0x800000)) >>> 0;
    samples.push(float[0]);
  }
  for (const x of samples) assert.equal(f32ToF16(x), slowNearestF16(Math.fround(x)), `x=${x}`);
  assert.equal(f32ToF16(Infinity), 0x7c00);
  assert.ok(Number.isNaN(F16_TO_F32[f32ToF16(NaN)]));
});

test("bf16 conversions round to nearest even and keep NaN", () => {
  const random = seededRandom(2);
  const bits = new Uint32Array(1), float = new Float32Array(bits.buffer);
  const decode = (b: number) => { bits[0] = b << 16; return float[0]; };
  for (let i = 0; i < 20000; i++) {
    bits[0] = Math.floor(random() * 0xff000000);
    const x = float[0];
    if (Number.isNaN(x) || !Number.isFinite(x)) continue;
    const down = bits[0] >>> 16, up = down + 1;
    const dDown = Math.abs(x - decode(down)), dUp = Math.abs(decode(up) - x);
    const expected = dDown < dUp ? down : dUp < dDown ? up : (down & 1) === 0 ? down : up;
    assert.equal(f32ToBf16(x), expected & 0xffff, `x=${x}`);
    assert.equal(bf16ToF32(expected & 0xffff), decode(expected & 0xffff));
  }
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
});

/** llama.cpp's Q8_0 rule written out plainly: d = max|x|/127 (f32), q = roundf(x · (1/d)). */
function slowQ8_0(values: Float32Array): Uint8Array {
  const out = new Uint8Array((values.length / 32) * 34);
  for (let b = 0; b < values.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(values[32 * b + j]) > amax) amax = Math.abs(values[32 * b + j]);
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    const dBits = slowNearestF16(d);
    out[34 * b] = dBits & 255;
    out[34 * b + 1] = dBits >> 8;
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(values[32 * b + j] * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // half away from zero
      out[34 * b + 2 + j] = q & 255;
    }
  }
  return out;
}

test("q8_0 bytes equal a plain reimplementation of llama.cpp's rule", () => {
  const random = seededRandom(3);
  const values = gaussian(random, 32 * 64, 0.7);
  values.fill(0, 32, 64); // an all-zero block: d = 0
  // A block whose scale is exactly 1, so x/d lands on halves: 2.5 → 3 and −0.5 → −1 (away from zero).
  values.set([127, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5], 64);
  const bytes = quantize(values, "q8_0", 256);
  assert.deepEqual(bytes, slowQ8_0(values));
  const q = new Int8Array(bytes.buffer, 64 / 32 * 34 + 2, 7);
  assert.deepEqual([...q], [127, 3, -3, 1, -1, 2, -127]);
});

/**
 * Per-value error bound as a fraction of the block's max |x| (of its range for types with a min),
 * plus 2^-11 · max|x| for rounding a stored f16 min/scale; and a bound on the relative rms error of
 * N(0, 1) data, about one step / √12 with a step of ≈ 2.5σ / levels.
 */
const QUANT_CASES: { dtype: DType; bound: number; rms: number }[] = [
  // One step is max|x|/127; half a step of rounding plus f16 rounding of d (2^-11 relative · 127 steps).
  { dtype: "q8_0", bound: 0.5 / 127 + 2 ** -11, rms: 0.01 },
  // Step max|x|/8, but the side opposite the max clamps at +7: up to one full step.
  { dtype: "q4_0", bound: 1 / 8 + 2 ** -8, rms: 0.09 },
  // Step range/15, half a step of rounding, plus the f16-rounded min.
  { dtype: "q4_1", bound: 0.5 / 15 + 2 ** -8, rms: 0.08 },
  { dtype: "q5_0", bound: 1 / 16 + 2 ** -8, rms: 0.045 },
  { dtype: "q5_1", bound: 0.5 / 31 + 2 ** -8, rms: 0.04 },
  // k-quants: 6-bit sub-block scales are rounded up, so a step is at most range/15 (or /31) plus 1/63
  // of the largest one; clamping the largest sub-block costs at most one more step.
  { dtype: "q4_k", bound: 1.5 / 15, rms: 0.08 },
  { dtype: "q5_k", bound: 1.5 / 31, rms: 0.04 },
  // 6-bit q with int8 group scales rounded to nearest: a step is ≈ max|x|/32 of the group.
  { dtype: "q6_k", bound: 1.5 / 32, rms: 0.02 },
];

for (const { dtype, bound, rms } of QUANT_CASES) {
  test(`${dtype}: quantize → dequantize stays within its error bound`, () => {
    const random = seededRandom(10 + DTYPES.indexOf(dtype));
    const rows = 8, rowLength = 512;
    const values = gaussian(random, rows * rowLength, 0.02);
    values.fill(0, 0, 256); // zero blocks
    values.fill(0.013, 256, 512); // constant positive blocks
    for (let i = 0; i < 40; i++) values[Math.floor(random() * values.length)] *= 25; // outliers
    for (let i = 1024; i < 1536; i++) values[i] = Math.abs(values[i]) + 0.5; // all-positive, offset blocks

    const bytes = quantize(values, dtype, rowLength);
    assert.equal(bytes.length, rows * rowBytes(dtype, rowLength));
    const back = dequantize({ name: "t", dtype, shape: [rows, rowLength], bytes });
    const size = blockSize(dtype);
    let sumSq = 0, sumErrSq = 0;
    for (let b = 0; b < values.length / size; b++) {
      let amax = 0, min = Infinity, max = -Infinity;
      for (let j = 0; j < size; j++) {
        const v = values[b * size + j];
        amax = Math.max(amax, Math.abs(v)); min = Math.min(min, v); max = Math.max(max, v);
      }
      // Types with a min/offset measure against the range (including 0 for k-quants' non-negative mins).
      const scale = dtype === "q4_1" || dtype === "q5_1" ? Math.max(max - min, 1e-3 * amax)
        : dtype === "q4_k" || dtype === "q5_k" ? Math.max(max, 0) - Math.min(min, 0)
        : amax;
      for (let j = 0; j < size; j++) {
        const i = b * size + j;
        const err = Math.abs(back[i] - values[i]);
        assert.ok(err <= bound * scale + 2 ** -11 * amax + 1e-9, `${dtype} block ${b} value ${j}: error ${err} > ${bound} × ${scale}`);
        sumSq += values[i] ** 2;
        sumErrSq += err ** 2;
      }
    }
    const relativeRms = Math.sqrt(sumErrSq / sumSq);
    assert.ok(relativeRms < rms, `${dtype}: relative rms error ${relativeRms}`);
    for (let i = 0; i < 256; i++) assert.ok(back[i] === 0, "zero blocks decode to zeros (±0)");
  });
}

test("dequantizeRow decodes any run of whole blocks at any offset", () => {
  const random = seededRandom(4);
  for (const dtype of DTYPES) {
    const values = gaussian(random, 1024);
    const bytes = quantize(values, dtype, 1024);
    const whole = dequantize({ name: "t", dtype, shape: [1024], bytes });
    const size = Math.max(blockSize(dtype), 1);
    const startBlock = 1, blocks = Math.min(2, 1024 / size - 1);
    const out = new Float32Array(5 + blocks * size);
    dequantizeRow(dtype, bytes, startBlock * blockBytes(dtype), blocks * size, out, 5);
    assert.deepEqual(out.subarray(5), whole.subarray(startBlock * size, (startBlock + blocks) * size), dtype);
  }
  assertLoomError(() => dequantizeRow("q8_0", new Uint8Array(34), 0, 33, new Float32Array(33)), "q8_0");
  assertLoomError(() => dequantizeRow("q8_0", new Uint8Array(34), 0, 64, new Float32Array(64)), "past");
});

test("f16 and bf16 quantize exactly like the scalar conversions; f32 is a copy", () => {
  const values = gaussian(seededRandom(5), 100, 3);
  const f16 = quantize(values, "f16", 10), bf16 = quantize(values, "bf16", 10), f32 = quantize(values, "f32", 10);
  for (let i = 0; i < 100; i++) {
    assert.equal(f16[2 * i] | (f16[2 * i + 1] << 8), slowNearestF16(values[i]));
    assert.equal(bf16[2 * i] | (bf16[2 * i + 1] << 8), f32ToBf16(values[i]));
  }
  assert.deepEqual(new Float32Array(f32.buffer), values);
});

test("quantizing rows that are not whole blocks throws a LoomError", () => {
  assertLoomError(() => quantize(new Float32Array(48), "q8_0", 48), "q8_0", "32", "48");
  assertLoomError(() => quantize(new Float32Array(512), "q6_k", 128), "q6_k", "256", "128");
  assertLoomError(() => quantize(new Float32Array(50), "f16", 16), "rows of 16");
  assertLoomError(
    () => dequantize({ name: "w", dtype: "q8_0", shape: [2, 32], bytes: new Uint8Array(34) }),
    `"w"`, "68", "34",
  );
});
