/**
 * The two ways llama.cpp's converter rearranges HF weights on their way into GGUF.
 */

/** (rows, cols) → (cols, rows): HF GPT-2's Conv1D stores matrices (in, out); GGUF wants (out, in). */
export function transposed(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  }
  return out;
}

/**
 * HF keeps each head's Q/K rows in rotate-half order (dimension i pairs with i + headDim/2);
 * llama.cpp's `llama` architecture rotates adjacent pairs (2i, 2i+1). Viewing a head's rows as
 * (2, headDim/2) and swapping the axes to (headDim/2, 2) makes the partners neighbours — the
 * `permute` of convert_hf_to_gguf.py. `values` is (nHeads·headDim, cols); a bias has cols = 1.
 */
export function permutedForAdjacentRope(values: Float32Array, nHeads: number, cols: number): Float32Array {
  const rows = values.length / cols;
  const headDim = rows / nHeads;
  const half = headDim / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = h * headDim + j * half + i;
        const to = h * headDim + 2 * i + j;
        out.set(values.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}
