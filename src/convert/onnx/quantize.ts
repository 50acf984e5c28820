/**
 * Symmetric int8 weights with one scale per output column, the layout of onnxruntime's
 * quantize_dynamic with per_channel: w ≈ q · scale, q in [-127, 127], scale = max|column| / 127.
 */
export interface Int8Columns {
  /** (in, out), row-major like the f32 matrix. */
  values: Int8Array;
  /** (out,) */
  scales: Float32Array;
}

export function quantizeColumnsInt8(w: Float32Array, inDim: number, outDim: number): Int8Columns {
  const scales = new Float32Array(outDim);
  for (let r = 0; r < inDim; r++) {
    for (let c = 0; c < outDim; c++) scales[c] = Math.max(scales[c], Math.abs(w[r * outDim + c]));
  }
  for (let c = 0; c < outDim; c++) scales[c] /= 127;
  const values = new Int8Array(inDim * outDim);
  for (let r = 0; r < inDim; r++) {
    for (let c = 0; c < outDim; c++) {
      const s = scales[c];
      values[r * outDim + c] = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(w[r * outDim + c] / s)));
    }
  }
  return { values, scales };
}
