import { LoomError } from "../errors.js";
import { dequantize, float32View } from "../tensor/dtypes.js";
import { numel, shapeString, type RawTensor } from "../tensor/tensor.js";
import { DenseMatrix, type RowMatrix } from "./dense.js";

/** How a model wants a checkpoint tensor turned into a weight matrix. */
export interface MatrixOptions {
  /**
   * The tensor is stored (inFeatures, outFeatures) — HF GPT-2's Conv1D — so the matrix is its
   * transpose. Layouts like this are fixed at load time; model code only ever sees (out, in).
   */
  transposed?: boolean;
  /** Names the file in error messages. */
  origin?: string;
}

/**
 * The one place weight matrices are made. Today every dtype becomes a DenseMatrix (dequantized to
 * f32 at load); quantized and WebAssembly implementations plug in here, so models never change.
 */
export function createMatrix(raw: RawTensor, options: MatrixOptions = {}): RowMatrix {
  if (raw.shape.length !== 2) {
    throw new LoomError(
      `${options.origin ?? "weights"}: tensor '${raw.name}' has shape ${shapeString(raw.shape)}, expected a 2-D matrix`,
    );
  }
  const [dim0, dim1] = raw.shape;
  const values = tensorToFloat32(raw);
  if (!options.transposed) return new DenseMatrix(values, dim0, dim1);
  // Stored (in, out) = (dim0, dim1); the matrix is (out, in) = (dim1, dim0).
  return new DenseMatrix(transpose(values, dim0, dim1), dim1, dim0);
}

const TILE = 32;

/** (rows, cols) → (cols, rows), in square tiles so both sides stay in cache. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) out[c * rows + r] = values[r * cols + c];
      }
    }
  }
  return out;
}

/**
 * The tensor's values as f32. An aligned f32 tensor is viewed in place (no copy); anything else
 * is decoded or dequantized into a new array.
 */
export function tensorToFloat32(raw: RawTensor): Float32Array {
  const values = float32View(raw) ?? dequantize(raw);
  if (values.length !== numel(raw.shape)) {
    throw new LoomError(`tensor '${raw.name}': ${values.length} values do not fill shape ${shapeString(raw.shape)}`);
  }
  return values;
}
