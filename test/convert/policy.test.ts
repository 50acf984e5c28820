// Storage-type policy and the two weight rearrangements, each against an obvious twin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertedDType, matrixDType, parseOutputDType, permutedForAdjacentRope, requantizedDType, transposed } from "../../src/convert/index.js";
import { randomArray, rng } from "../kernels/random.js";

test("1-D tensors, norms, biases and position embeddings stay f32; matrices take the requested type", () => {
  assert.equal(convertedDType("blk.0.attn_norm.weight", [64], "q8_0"), "f32");
  assert.equal(convertedDType("output_norm.weight", [64], "f16"), "f32");
  assert.equal(convertedDType("blk.0.attn_q.bias", [64], "q4_0"), "f32");
  assert.equal(convertedDType("rope_freqs.weight", [8], "q8_0"), "f32");
  assert.equal(convertedDType("position_embd.weight", [512, 64], "q8_0"), "f32");
  assert.equal(convertedDType("position_embd.weight", [512, 64], "f16"), "f32");
  assert.equal(convertedDType("token_embd.weight", [100, 64], "q8_0"), "q8_0");
  assert.equal(convertedDType("blk.0.ffn_up.weight", [96, 64], "bf16"), "bf16");
});

test("rows that do not fill whole blocks fall back as llama.cpp does", () => {
  // 32-value blocks: straight to f16.
  assert.equal(matrixDType("q8_0", 64), "q8_0");
  assert.equal(matrixDType("q8_0", 72), "f16");
  assert.equal(matrixDType("q5_1", 48), "f16");
  // k-quants (256-value blocks): first to a 32-block type of similar size, then to f16.
  assert.equal(matrixDType("q4_k", 512), "q4_k");
  assert.equal(matrixDType("q4_k", 96), "q5_0");
  assert.equal(matrixDType("q5_k", 96), "q5_1");
  assert.equal(matrixDType("q6_k", 96), "q8_0");
  assert.equal(matrixDType("q6_k", 72), "f16");
  // Plain floats never fall back.
  assert.equal(matrixDType("f32", 7), "f32");
});

test("requantizing keeps never-quantized tensors in their stored type", () => {
  assert.equal(requantizedDType("blk.0.attn_norm.weight", [64], "f32", "q4_0"), "f32");
  assert.equal(requantizedDType("position_embd.weight", [64, 64], "f16", "q8_0"), "f16");
  assert.equal(requantizedDType("blk.0.ffn_down.weight", [64, 72], "f32", "q8_0"), "f16");
  assert.equal(requantizedDType("output.weight", [100, 64], "q8_0", "q4_k"), "q5_0");
});

test("dtype names are parsed case-insensitively and unknown ones are rejected with the choices", () => {
  assert.equal(parseOutputDType("Q8_0"), "q8_0");
  assert.throws(() => parseOutputDType("q3_k"), (e: Error) => e.name === "LoomError" && e.message.includes("q8_0") && e.message.includes("q3_k"));
});

test("transposed equals the element-by-element definition", () => {
  const rows = 5, cols = 7;
  const x = randomArray(rng(1), rows * cols);
  const t = transposed(x, rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) assert.equal(t[c * rows + r], x[r * cols + c]);
});

/**
 * convert_hf_to_gguf.py's permute, read literally: reshape to (nHeads, 2, headDim/2, cols), swap
 * axes 1 and 2, reshape back — computed here with explicit strides of both views.
 */
function reshapeSwapTwin(x: Float32Array, nHeads: number, cols: number): Float32Array {
  const headDim = x.length / cols / nHeads, half = headDim / 2;
  const out = new Float32Array(x.length);
  for (let h = 0; h < nHeads; h++) {
    for (let a = 0; a < half; a++) {
      for (let b = 0; b < 2; b++) {
        for (let c = 0; c < cols; c++) {
          const source = ((h * 2 + b) * half + a) * cols + c; // x viewed as (nHeads, 2, half, cols) at [h, b, a, c]
          const target = ((h * half + a) * 2 + b) * cols + c; // out viewed as (nHeads, half, 2, cols) at [h, a, b, c]
          out[target] = x[source];
        }
      }
    }
  }
  return out;
}

test("the Q/K permutation equals llama.cpp's reshape-swapaxes, for weights and biases", () => {
  const random = rng(2);
  for (const [nHeads, headDim, cols] of [[4, 16, 8], [2, 8, 1], [1, 4, 3]]) {
    const x = randomArray(random, nHeads * headDim * cols);
    assert.deepEqual(permutedForAdjacentRope(x, nHeads, cols), reshapeSwapTwin(x, nHeads, cols));
  }
});
