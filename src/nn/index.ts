/** Layers that own weights. Models compose these; kernels do the arithmetic. */
export type { Matrix } from "./matrix.js";
export { DenseMatrix, type RowMatrix } from "./dense.js";
export { createMatrix, tensorToFloat32, type MatrixOptions } from "./create-matrix.js";
export { Linear } from "./linear.js";
export { Embedding } from "./embedding.js";
export { LayerNorm, RMSNorm, type Norm } from "./norms.js";
export { GeluMLP, SwiGLUMLP, type MLP } from "./mlp.js";
export { RotaryEmbedding } from "./rope.js";
export { SelfAttention, type AttentionShape, type AttentionScratch, type QKVProjection, type TraceFn } from "./attention.js";
export { DenseKVCache } from "./kv-cache.js";
