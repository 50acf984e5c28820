import { LoomError } from "../errors.js";
import { createWasmMatrix, type WasmRuntime } from "../kernels/wasm/index.js";
import { Kind, type KernelDType } from "../kernels/wasm/layout.js";
import { BLOCK_BYTES, createQuantizedScratch, quantizedMatmul, type BlockDType, type QuantizedScratch } from "../kernels/quantized-matmul.js";
import { blockSize, dequantize, dequantizeRow, float32View, isQuantized, quantize, quantizeRow } from "../tensor/dtypes.js";
import { tensorBytes } from "../tensor/blocks.js";
import { numel, shapeString, type DType, type RawTensor } from "../tensor/tensor.js";
import { DenseMatrix, type RowMatrix } from "./dense.js";

/** Storage types a load can convert weight matrices to (`--dtype`). */
export type LoadDType = "q8_0" | "q4_0" | "f16" | "f32";
export const LOAD_DTYPES: readonly LoadDType[] = ["q8_0", "q4_0", "f16", "f32"];

/** Where a model's matrices live and in which form. */
export interface MatrixBackend {
  /** The WebAssembly runtime whose kernels run the matrices; absent: the TypeScript kernels. */
  runtime?: WasmRuntime;
  /**
   * Store float matrices (f32, f16, bf16) in this type; quantized matrices keep theirs (except for
   * "f32", which dequantizes everything). A row that does not fill whole blocks falls back to f16,
   * as llama.cpp's converter does, so a model quantized on load equals the GGUF `loom convert` writes.
   */
  dtype?: LoadDType;
}

/** How a model wants a checkpoint tensor turned into a weight matrix. */
export interface MatrixOptions {
  /**
   * The tensor is stored (inFeatures, outFeatures) — HF GPT-2's Conv1D — so the matrix is its
   * transpose. Layouts like this are fixed at load time; model code only ever sees (out, in).
   * With a WebAssembly backend the transpose happens in place, in the tensor's own bytes.
   */
  transposed?: boolean;
  /** Names the file in error messages. */
  origin?: string;
  /** Keep the stored type even when the backend converts matrices (llama.cpp keeps position embeddings F32). */
  keepDType?: boolean;
  backend?: MatrixBackend;
}

/**
 * The one place weight matrices are made. With a WebAssembly runtime the weights stay in their
 * stored form (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k) in its memory — in place when the reader put
 * them there; other types become f32 there. Without one, the TypeScript reference: Q8_0 and Q4_0
 * blocks multiplied as the kernels do, every other type as a DenseMatrix of f32 values.
 */
export function createMatrix(raw: RawTensor, options: MatrixOptions = {}): RowMatrix {
  if (raw.shape.length !== 2) {
    throw new LoomError(
      `${options.origin ?? "weights"}: tensor '${raw.name}' has shape ${shapeString(raw.shape)}, expected a 2-D matrix`,
    );
  }
  const [dim0, dim1] = raw.shape;
  const [rows, cols] = options.transposed ? [dim1, dim0] : [dim0, dim1];
  const dtype = storedDType(raw.dtype, cols, options);
  const runtime = options.backend?.runtime;
  const matrix = runtime ? wasmMatrix(raw, rows, cols, dtype, runtime, options) : null;
  return matrix ?? typescriptMatrix(raw, rows, cols, dtype, options);
}

/** The type a (rows, cols) matrix stored as `stored` is kept in. */
function storedDType(stored: DType, cols: number, options: MatrixOptions): DType {
  const target = options.backend?.dtype;
  if (target === undefined || options.keepDType) return stored;
  if (isQuantized(stored)) return target === "f32" ? "f32" : stored;
  return cols % blockSize(target) === 0 ? target : "f16";
}

function isKernelDType(dtype: DType): dtype is KernelDType {
  return Object.prototype.hasOwnProperty.call(Kind, dtype);
}

const ELEMENT_BYTES: Partial<Record<DType, 2 | 4>> = { f32: 4, f16: 2, bf16: 2 };

/** A matrix in the runtime's memory, or null where the kernels decline (f16 weights holding ∞/NaN). */
function wasmMatrix(raw: RawTensor, rows: number, cols: number, dtype: DType, runtime: WasmRuntime, options: MatrixOptions): RowMatrix | null {
  const name = raw.name;
  const elementBytes = ELEMENT_BYTES[raw.dtype];
  if (dtype === raw.dtype && isKernelDType(dtype) && !options.transposed) {
    return createWasmMatrix({ name, dtype, shape: [rows, cols], bytes: raw.bytes }, runtime);
  }
  if (dtype === raw.dtype && isKernelDType(dtype) && elementBytes !== undefined) {
    // Stored (in, out): transpose once, in place when the reader put the bytes in the runtime's memory.
    const bytes = runtime.offsetOf(raw.bytes) === undefined ? runtime.allocate(raw.bytes.byteLength) : raw.bytes;
    runtime.transpose(raw.bytes, bytes, cols, rows, elementBytes);
    const transposed: RawTensor = { name, dtype, shape: [rows, cols], bytes };
    return createWasmMatrix(transposed, runtime) ?? typescriptMatrix(transposed, rows, cols, dtype, { ...options, transposed: false });
  }
  // Converted on load (or a type the kernels do not read, kept as f32): rows are encoded straight
  // into the runtime's memory.
  const kept: KernelDType = isKernelDType(dtype) ? dtype : "f32";
  const values = floatValues(raw, options, (from, to, r, c) => runtime.transpose(bytesOf(from), bytesOf(to), r, c, 4));
  const bytes = runtime.allocate(tensorBytes(kept, [rows, cols]));
  if (kept === "q8_0" || kept === "q4_0" || kept === "f16") runtime.encode(kept, values, bytes);
  else quantizeRow(kept, values, 0, rows * cols, bytes, 0);
  return createWasmMatrix({ name, dtype: kept, shape: [rows, cols], bytes }, runtime);
}

/**
 * The TypeScript reference. Q8_0 and Q4_0 matrices keep their blocks and multiply the way the
 * WebAssembly kernels and llama.cpp do (activations quantized to Q8_0); every other type becomes
 * f32 values (as the chosen storage type would hold them) in a DenseMatrix.
 */
function typescriptMatrix(raw: RawTensor, rows: number, cols: number, dtype: DType, options: MatrixOptions): RowMatrix {
  if (dtype === raw.dtype && !options.transposed && (dtype === "q8_0" || dtype === "q4_0")) {
    return new BlockQuantizedMatrix(raw.bytes, dtype, rows, cols);
  }
  let values = floatValues(raw, options, transposeF32);
  if (dtype === "q8_0" || dtype === "q4_0") return new BlockQuantizedMatrix(quantize(values, dtype, cols), dtype, rows, cols);
  if (dtype !== raw.dtype && dtype !== "f32") {
    // Converted on load: the values the stored type holds, so both backends multiply the same weights.
    values = dequantize({ name: raw.name, dtype, shape: [rows, cols], bytes: quantize(values, dtype, cols) });
  }
  return new DenseMatrix(values, rows, cols);
}

/** W (rows, cols) as Q8_0 or Q4_0 blocks, multiplied in TypeScript (src/kernels/quantized-matmul.ts). */
class BlockQuantizedMatrix implements RowMatrix {
  private readonly scratch: QuantizedScratch;

  constructor(readonly bytes: Uint8Array, readonly dtype: BlockDType, readonly rows: number, readonly cols: number) {
    this.scratch = createQuantizedScratch(cols);
  }

  matmul(out: Float32Array, x: Float32Array, n: number): void {
    quantizedMatmul(out, x, this.bytes, this.dtype, n, this.rows, this.cols, this.scratch);
  }

  readRow(row: number, out: Float32Array, offset: number): void {
    dequantizeRow(this.dtype, this.bytes, row * (this.cols / 32) * BLOCK_BYTES[this.dtype], this.cols, out, offset);
  }
}

type Transpose = (from: Float32Array, to: Float32Array, rows: number, cols: number) => void;

/** The tensor's values as f32, laid out (rows, cols) = (out, in), transposed when stored (in, out). */
function floatValues(raw: RawTensor, options: MatrixOptions, transpose: Transpose): Float32Array {
  const values = tensorToFloat32(raw);
  if (!options.transposed) return values;
  const [dim0, dim1] = raw.shape;
  const out = new Float32Array(values.length);
  transpose(values, out, dim0, dim1);
  return out;
}

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

const TILE = 32;

/** to (cols, rows) = from (rows, cols)ᵀ, in square tiles so both sides stay in cache. */
function transposeF32(from: Float32Array, to: Float32Array, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) to[c * rows + r] = from[r * cols + c];
      }
    }
  }
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
