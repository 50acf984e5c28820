// Weight matrices whose products run in the WebAssembly kernels (the Matrix contract of
// src/nn/matrix.ts). The weights stay in their stored form: f32, f16, bf16, or GGML blocks.
import { LoomError } from "../../errors.js";
import { dequantizeRow } from "../../tensor/dtypes.js";
import { shapeString, type DType } from "../../tensor/tensor.js";
import type { Matrix } from "../../nn/matrix.js";
import { Kind, MAX_SEGMENTS, type KernelDType } from "./layout.js";
import type { WasmRuntime } from "./runtime.js";

/** Values per block and bytes per block of every dtype the kernels read. */
const LAYOUTS: Record<KernelDType, { values: number; bytes: number }> = {
  f32: { values: 1, bytes: 4 },
  f16: { values: 1, bytes: 2 },
  bf16: { values: 1, bytes: 2 },
  q8_0: { values: 32, bytes: 34 },
  q4_0: { values: 32, bytes: 18 },
  q4_k: { values: 256, bytes: 144 },
  q6_k: { values: 256, bytes: 210 },
};

function isKernelDType(dtype: DType): dtype is KernelDType {
  return Object.prototype.hasOwnProperty.call(Kind, dtype);
}

export interface RawMatrix {
  /** Names the tensor in error messages. */
  name?: string;
  dtype: DType;
  /** [rows, cols] = [outFeatures, inFeatures], row-major. */
  shape: readonly number[];
  bytes: Uint8Array;
}

/** W (rows, cols) in the runtime's shared memory. */
export class WasmMatrix implements Matrix {
  constructor(
    readonly runtime: WasmRuntime,
    readonly dtype: KernelDType,
    /** The weights, a view into the shared memory. */
    readonly bytes: Uint8Array,
    readonly rows: number,
    readonly cols: number,
    readonly name: string,
  ) {}

  matmul(out: Float32Array, x: Float32Array, n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new LoomError(`${this.name}: matmul token count must be a whole number, got ${n}`);
    if (x.length < n * this.cols || out.length < n * this.rows) {
      throw new LoomError(
        `${this.name}: matmul of W (${this.rows}, ${this.cols}) with ${n} tokens needs x of ${n * this.cols} ` +
        `and out of ${n * this.rows} floats, got ${x.length} and ${out.length}`,
      );
    }
    this.runtime.matmul(this.dtype, this.bytes.byteOffset, this.rows, this.cols, out, x, n);
  }

  /** Writes row `row` (cols floats, dequantized) into out[offset ..]: what an embedding needs. */
  readRow(row: number, out: Float32Array, offset: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) {
      throw new LoomError(`${this.name}: row ${row} is outside 0..${this.rows - 1}`);
    }
    const rowBytes = this.bytes.byteLength / this.rows;
    dequantizeRow(this.dtype, this.bytes, row * rowBytes, this.cols, out, offset);
  }
}

/**
 * outs[i] (n, rows_i) = x (n, cols) · W_iᵀ for every matrix, in one job when they can share one
 * (same runtime, weight type and width): what Q/K/V and gate/up projections do each token. Returns
 * false, having done nothing, when they cannot.
 */
export function matmulTogether(matrices: readonly Matrix[], outs: readonly Float32Array[], x: Float32Array, n: number): boolean {
  const first = matrices[0];
  if (!(first instanceof WasmMatrix) || matrices.length < 2 || matrices.length > MAX_SEGMENTS) return false;
  for (const m of matrices) {
    if (!(m instanceof WasmMatrix) || m.runtime !== first.runtime || m.dtype !== first.dtype || m.cols !== first.cols) return false;
  }
  const parts = (matrices as WasmMatrix[]).map((m, i) => {
    if (outs[i].length < n * m.rows) throw new LoomError(`${m.name}: matmul of ${n} tokens needs out of ${n * m.rows} floats, got ${outs[i].length}`);
    return { w: m.bytes.byteOffset, rows: m.rows, out: outs[i] };
  });
  if (x.length < n * first.cols) throw new LoomError(`${first.name}: matmul of ${n} tokens needs x of ${n * first.cols} floats, got ${x.length}`);
  first.runtime.matmulMany(first.dtype, parts, first.cols, x, n);
  return true;
}

/**
 * A Matrix backed by the WebAssembly kernels, or null for dtypes they do not read and for f16
 * weights holding ∞ or NaN (the caller then falls back to TypeScript). Bytes already in the runtime's memory (from `runtime.allocate`) are
 * used in place; others are copied in once.
 */
export function createWasmMatrix(raw: RawMatrix, runtime: WasmRuntime): WasmMatrix | null {
  const name = raw.name ?? "weight matrix";
  if (!isKernelDType(raw.dtype)) return null;
  if (raw.shape.length !== 2) {
    throw new LoomError(`${name}: expected a 2-D matrix, got shape ${shapeString(raw.shape)}`);
  }
  const [rows, cols] = raw.shape;
  const layout = LAYOUTS[raw.dtype];
  if (cols % layout.values !== 0) {
    throw new LoomError(
      `${name}: ${raw.dtype} rows are stored in blocks of ${layout.values} values; a row of ${cols} does not fit (shape ${shapeString(raw.shape)})`,
    );
  }
  const expected = rows * (cols / layout.values) * layout.bytes;
  if (raw.bytes.byteLength !== expected) {
    throw new LoomError(
      `${name}: ${raw.dtype} ${shapeString(raw.shape)} takes ${expected} bytes, got ${raw.bytes.byteLength}`,
    );
  }
  let bytes = raw.bytes;
  if (runtime.offsetOf(bytes) === undefined) {
    bytes = runtime.allocate(expected);
    bytes.set(raw.bytes);
  }
  // The f16 kernels decode finite halves only (cheaper); ∞ or NaN weights go to TypeScript.
  if (raw.dtype === "f16" && runtime.kernels.hasNonFiniteF16(bytes.byteOffset, rows * cols) !== 0) return null;
  return new WasmMatrix(runtime, raw.dtype, bytes, rows, cols, name);
}
