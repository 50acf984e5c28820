// Everything about storage types in one import: block layouts and sizes, f16/bf16 conversion,
// dequantization and quantization of every DType.
export {
  DTYPE_LAYOUTS, DTYPES, isDType, isQuantized, blockSize, blockBytes, rowBytes, tensorBytes,
  type DTypeLayout,
} from "./blocks.js";
export { F16_TO_F32, f16ToF32, f32ToF16, bf16ToF32, f32ToBf16 } from "./half.js";
export { dequantize, dequantizeRow, float32View, kScaleMin } from "./dequantize.js";
export { quantize, quantizeRow } from "./quantize.js";
