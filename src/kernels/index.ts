/**
 * Loom's kernels: pure functions that write into caller-owned outputs, `(out, ...inputs, dims)`.
 * They allocate nothing, keep no state and know nothing about files or models, so a WebAssembly
 * build can replace any of them. Every fast kernel has a slow, obvious twin in ./reference.ts,
 * and test/kernels/ compares the two on seeded random data.
 *
 * Glossary of dimension names (used in shape comments everywhere above this folder):
 *
 *   nEmbd     width of the residual stream (HF hidden_size / n_embd)
 *   nHeads    query heads per layer
 *   nKVHeads  key/value heads per layer (nHeads for MHA, fewer for GQA, 1 for MQA)
 *   headDim   width of one head; qDim = nHeads·headDim, kvDim = nKVHeads·headDim
 *   nFF       hidden width of the MLP (HF intermediate_size / n_inner)
 *   seqLen    tokens handled by one forward call (n in loops); 1 while decoding
 *   startPos  position of the first of those tokens = positions already in the cache
 *   kvLen     startPos + seqLen: keys the last query may attend to
 *   nCtx      positions a KV cache (or a RoPE table) currently has room for
 *   rotDim    leading dimensions of each head that RoPE rotates (≤ headDim, usually = headDim)
 *   vocab     rows of the embedding table and of the LM head
 *   rows/cols a weight matrix W (rows, cols) = (outFeatures, inFeatures), row-major
 *
 * Every buffer is row-major with the last dimension contiguous: "(seqLen, nEmbd)" means seqLen
 * rows of nEmbd floats. Kernels take explicit row counts and only touch that many rows, so callers
 * may pass scratch buffers that are larger than needed.
 */

export { matmul } from "./matmul.js";
export { add, addBias, gelu, silu, swiglu, scale } from "./elementwise.js";
export { layerNorm, rmsNorm } from "./norms.js";
export { softmax } from "./softmax.js";
export { ropeInvFreq, applyRopeFreqFactors, llama3RopeFactors, fillRopeTables, ropeNeox, ropeNormal } from "./rope.js";
export type { RopeDims, RopeStyle, Llama3RopeScaling } from "./rope.js";
export { causalAttention } from "./attention.js";
export type { AttentionDims } from "./attention.js";
export { flashAttention, createFlashScratch, visibleKeys, DEFAULT_FLASH_TILES } from "./flash-attention.js";
export type { FlashAttentionDims, FlashScratch, FlashTiles } from "./flash-attention.js";
export { naiveAttention } from "./attention-naive-ref.js";
