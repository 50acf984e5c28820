import { LoomError } from "../errors.js";
import { numel, shapeString, type DType } from "./tensor.js";

/**
 * How each dtype is laid out along a row: `blockSize` values share one block of `blockBytes`.
 * Plain floats are blocks of one value. The quantized layouts are GGML's (ggml-common.h).
 */
export interface DTypeLayout {
  readonly blockSize: number;
  readonly blockBytes: number;
}

export const DTYPE_LAYOUTS: Readonly<Record<DType, DTypeLayout>> = {
  f32: { blockSize: 1, blockBytes: 4 },
  f16: { blockSize: 1, blockBytes: 2 },
  bf16: { blockSize: 1, blockBytes: 2 },
  q8_0: { blockSize: 32, blockBytes: 2 + 32 }, // d, qs[32]
  q4_0: { blockSize: 32, blockBytes: 2 + 16 }, // d, qs[16]
  q4_1: { blockSize: 32, blockBytes: 2 + 2 + 16 }, // d, m, qs[16]
  q5_0: { blockSize: 32, blockBytes: 2 + 4 + 16 }, // d, qh[4], qs[16]
  q5_1: { blockSize: 32, blockBytes: 2 + 2 + 4 + 16 }, // d, m, qh[4], qs[16]
  q4_k: { blockSize: 256, blockBytes: 2 + 2 + 12 + 128 }, // d, dmin, scales[12], qs[128]
  q5_k: { blockSize: 256, blockBytes: 2 + 2 + 12 + 32 + 128 }, // d, dmin, scales[12], qh[32], qs[128]
  q6_k: { blockSize: 256, blockBytes: 128 + 64 + 16 + 2 }, // ql[128], qh[64], scales[16], d
};

export const DTYPES = Object.keys(DTYPE_LAYOUTS) as DType[];

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_LAYOUTS, name);
}

export function isQuantized(dtype: DType): boolean {
  return DTYPE_LAYOUTS[dtype].blockSize > 1;
}

export function blockSize(dtype: DType): number {
  return DTYPE_LAYOUTS[dtype].blockSize;
}

export function blockBytes(dtype: DType): number {
  return DTYPE_LAYOUTS[dtype].blockBytes;
}

/** Bytes of one row of `rowLength` values; throws when the row does not fill whole blocks. */
export function rowBytes(dtype: DType, rowLength: number): number {
  const { blockSize: size, blockBytes: bytes } = DTYPE_LAYOUTS[dtype];
  if (!Number.isSafeInteger(rowLength) || rowLength < 0 || rowLength % size !== 0) {
    throw new LoomError(`${dtype} stores rows in blocks of ${size} values; a row of ${rowLength} values does not fit`);
  }
  return (rowLength / size) * bytes;
}

/** Bytes of a whole tensor; the innermost dimension is the row. */
export function tensorBytes(dtype: DType, shape: readonly number[]): number {
  const rowLength = shape.length === 0 ? 1 : shape[shape.length - 1];
  const rows = rowLength === 0 ? 0 : numel(shape) / rowLength;
  try {
    return rows * rowBytes(dtype, rowLength);
  } catch (error) {
    if (error instanceof LoomError) throw new LoomError(`shape ${shapeString(shape)}: ${error.message}`);
    throw error;
  }
}
