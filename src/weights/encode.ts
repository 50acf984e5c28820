import { LoomError } from "../errors.js";
import { tensorBytes } from "../tensor/blocks.js";
import { quantize } from "../tensor/quantize.js";
import { numel, shapeString, type DType } from "../tensor/tensor.js";

/**
 * A tensor handed to a writer: f32 values to be converted/quantized to `dtype`, or bytes already in
 * `dtype`'s layout. `shape` is outermost first.
 */
export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: readonly number[];
  data: Float32Array | Uint8Array;
}

/** Throws a LoomError naming the tensor when its data does not fit its shape and `dtype`; returns the byte size. */
export function checkTensorData(target: string, tensor: TensorToWrite, dtype: DType = tensor.dtype): number {
  const { name, shape, data } = tensor;
  const where = `${target}: tensor "${name}"`;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new LoomError(`${where}: bad shape ${shapeString(shape)}`);
  if (data instanceof Uint8Array && dtype !== tensor.dtype) {
    throw new LoomError(`${where}: prequantized ${tensor.dtype} bytes cannot be written as ${dtype}`);
  }
  let size: number;
  try {
    size = tensorBytes(dtype, shape);
  } catch (error) {
    if (error instanceof LoomError) throw new LoomError(`${where}: ${error.message}`);
    throw error;
  }
  if (data instanceof Uint8Array && data.length !== size) {
    throw new LoomError(`${where}: ${dtype} ${shapeString(shape)} needs ${size} bytes but got ${data.length}`);
  }
  if (data instanceof Float32Array && data.length !== numel(shape)) {
    throw new LoomError(`${where}: shape ${shapeString(shape)} holds ${numel(shape)} values but got ${data.length}`);
  }
  return size;
}

/** The tensor's bytes in `dtype` (Float32Array data is converted or quantized; bytes pass through). */
export function encodeTensor(target: string, tensor: TensorToWrite, dtype: DType = tensor.dtype): Uint8Array {
  checkTensorData(target, tensor, dtype);
  const { shape, data } = tensor;
  if (data instanceof Uint8Array) return data;
  if (data.length === 0) return new Uint8Array(0);
  return quantize(data, dtype, shape.length === 0 ? 1 : shape[shape.length - 1]);
}
