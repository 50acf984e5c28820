/**
 * out (n, rows) = x (n, cols) · Wᵀ, with W (rows, cols) row-major — the product every Linear
 * layer needs (PyTorch's x @ W.T). Dot products run along contiguous rows of both operands.
 *
 * The work is register-blocked: four rows of W meet two rows of x in eight running sums, so every
 * value loaded is used two or four times and the sums are independent (no single dependency
 * chain). Rows of x are taken in tiles that stay in cache while all of W streams past them once.
 */
const X_TILE = 32;

export function matmul(
  out: Float32Array, x: Float32Array, w: Float32Array, n: number, rows: number, cols: number,
): void {
  for (let t0 = 0; t0 < n; t0 += X_TILE) {
    const t1 = Math.min(n, t0 + X_TILE);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const w0 = r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
      let t = t0;
      for (; t + 2 <= t1; t += 2) {
        const xa = t * cols, xb = xa + cols;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        for (let c = 0; c < cols; c++) {
          const va = x[xa + c], vb = x[xb + c];
          const u0 = w[w0 + c], u1 = w[w1 + c], u2 = w[w2 + c], u3 = w[w3 + c];
          a0 += u0 * va; a1 += u1 * va; a2 += u2 * va; a3 += u3 * va;
          b0 += u0 * vb; b1 += u1 * vb; b2 += u2 * vb; b3 += u3 * vb;
        }
        const oa = t * rows + r, ob = oa + rows;
        out[oa] = a0; out[oa + 1] = a1; out[oa + 2] = a2; out[oa + 3] = a3;
        out[ob] = b0; out[ob + 1] = b1; out[ob + 2] = b2; out[ob + 3] = b3;
      }
      if (t < t1) {
        const xa = t * cols;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let c = 0; c < cols; c++) {
          const va = x[xa + c];
          a0 += w[w0 + c] * va; a1 += w[w1 + c] * va; a2 += w[w2 + c] * va; a3 += w[w3 + c] * va;
        }
        const oa = t * rows + r;
        out[oa] = a0; out[oa + 1] = a1; out[oa + 2] = a2; out[oa + 3] = a3;
      }
    }
    // The last rows % 4 rows of W, one at a time with four partial sums along the row.
    for (; r < rows; r++) {
      const w0 = r * cols;
      for (let t = t0; t < t1; t++) {
        out[t * rows + r] = dot(x, t * cols, w, w0, cols);
      }
    }
  }
}

/** Σ a[ao+i]·b[bo+i] for i < len, with four independent partial sums. */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
    s2 += a[ao + i + 2] * b[bo + i + 2];
    s3 += a[ao + i + 3] * b[bo + i + 3];
  }
  for (; i < len; i++) s0 += a[ao + i] * b[bo + i];
  return (s0 + s1) + (s2 + s3);
}
