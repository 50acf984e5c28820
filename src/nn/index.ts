/** Layers that own weights. Models compose these; kernels do the arithmetic. */
export type { Matrix } from "./matrix.js";
export { DenseMatrix, type RowMatrix } from "./dense.js";
export { createMatrix, tensorToFloat32, type MatrixOptions } from "./create-matrix.js";
export { forwardTogether, Linear } from "./linear.js";
export { Embedding } from "./embedding.js";
export { LayerNorm, RMSNorm, type Norm } from "./norms.js";
export { GeGLUMLP, GeluMLP, SwiGLUMLP, type MLP } from "./mlp.js";
export { RotaryEmbedding, type RopeConfig } from "./rope.js";
export {
  SelfAttention, AttentionScratch, type AttentionShape, type LayerKVStore, type QKNorms, type QKVProjection, type TraceFn,
} from "./attention.js";
export { DenseKVCache } from "./kv-cache.js";
export { RotatingKVCache } from "./rotating-kv-cache.js";
export { ModelKVCache, type ModelKVCacheOptions, type WindowedLayerStorage } from "./model-kv-cache.js";
export { fillAttentionMask, visibleKeys, visibleKeyCount, type AttentionSpan } from "./attention-mask.js";
export { ropeFrequencies, ropeScalingFromGGUF, ropeScalingFromHF, type RopeFrequencies, type RopeScaling } from "./rope-scaling.js";
export { JS_OPS, opsFor, wasmOps, type Ops } from "./ops.js";
export { HEAP_MEMORY, type FloatMemory } from "./float-memory.js";
