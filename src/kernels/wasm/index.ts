/**
 * WebAssembly SIMD kernels and their worker pool.
 *
 *   const runtime = createWasmRuntime({ threads: 2 });
 *   const bytes = runtime.allocate(n);            // read a tensor's file bytes straight in here
 *   const W = createWasmMatrix({ dtype: "q8_0", shape: [rows, cols], bytes }, runtime);
 *   W?.matmul(out, x, nTokens);                  // synchronous; all threads share the rows
 *   runtime.dispose();                           // stops the workers
 *
 * Quantized weights are multiplied as llama.cpp's CPU backend does: activations are quantized to
 * Q8_0 (Q8_0, Q4_0 weights) or Q8_K (Q4_K, Q6_K) blocks and dotted in integers per block.
 */
export { createWasmRuntime, WasmRuntime, type AttentionJob, type MatmulPart, type WasmRuntimeOptions } from "./runtime.js";
export { createWasmMatrix, matmulTogether, WasmMatrix, type RawMatrix } from "./matrix.js";
export type { KernelDType } from "./layout.js";
export { WasmOps } from "./ops.js";
