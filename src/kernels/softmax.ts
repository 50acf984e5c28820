/**
 * In-place softmax over x[offset .. offset+len): subtract the max (so exp never overflows),
 * exponentiate, normalize. Values are stored as f32; the sums run in double precision.
 */
export function softmax(x: Float32Array, offset: number, len: number): void {
  const end = offset + len;
  let max = -Infinity;
  for (let i = offset; i < end; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = offset; i < end; i++) {
    const e = Math.exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = offset; i < end; i++) x[i] *= inv;
}
