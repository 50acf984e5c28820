// The compiled kernels module (built by build.mjs from assembly/, shipped as base64) and the
// TypeScript view of its exports. All pointers are byte offsets into the shared memory.
import { KERNELS_WASM_BASE64 } from "./kernels-binary.js";

// The few WebAssembly JS API shapes we use. Node 20's type definitions leave the global out (it
// lives in lib.dom), so it is described here rather than pulling browser types into the project.
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
/** A compiled module: opaque, but it can be posted to workers. */
export type WasmModule = { readonly __wasmModule: unique symbol };
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: { env: { memory: WasmMemory } }) => { exports: object };
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export interface KernelExports {
  /** Runs part `part` of `parts` of the matmul described by the job record at `job`. */
  runPart(job: number, part: number, parts: number): void;
  /** The same, run by thread `slot`, whose share of the scratch it uses. */
  runChunk(job: number, part: number, parts: number, slot: number): void;
  /** Q8_0 activations: count f32 at x → i16 q at qs, f32 d per 32 at ds (llama.cpp's x86 rule). */
  quantizeQ8_0(x: number, qs: number, ds: number, count: number): void;
  /** Q8_K activations: i16 q, f32 d per 256, i32 sums per 32 (llama.cpp's quantize_row_q8_K). */
  quantizeQ8_K(x: number, qs: number, ds: number, sums: number, count: number): void;
  /** f32 → IEEE half bits, round to nearest even (exported for tests). */
  f32ToF16(value: number): number;
  /** 1 if any of `count` f16 values at p is ∞ or NaN (the f16 kernels assume finite weights). */
  hasNonFiniteF16(p: number, count: number): number;
  /** dst (cols, rows) = src (rows, cols)ᵀ of 32-bit values; the two must not overlap. */
  transpose32(src: number, dst: number, rows: number, cols: number): void;
  /** The same for 16-bit values. */
  transpose16(src: number, dst: number, rows: number, cols: number): void;
  /** `count` f32 at x → Q8_0 / Q4_0 blocks or f16 at out, as src/tensor/quantize.ts encodes weights. */
  encodeQ8_0(x: number, out: number, count: number): void;
  encodeQ4_0(x: number, out: number, count: number): void;
  encodeF16(x: number, out: number, count: number): void;
  /** Element-wise ops (src/kernels/wasm/ops.ts): pointers are byte offsets, out may alias an input. */
  opGelu(out: number, x: number, len: number): void;
  opSwiglu(out: number, gate: number, up: number, len: number): void;
  opGeglu(out: number, gate: number, up: number, len: number): void;
  opAdd(out: number, a: number, b: number, len: number): void;
  opAddBias(x: number, bias: number, n: number, dim: number): void;
  /** bias 0: none. */
  opLayerNorm(out: number, x: number, weight: number, bias: number, n: number, dim: number, eps: number): void;
  opRmsNorm(out: number, x: number, weight: number, n: number, dim: number, eps: number): void;
  /** Flash attention for the query heads of KV heads [g0, g1); window/softCap/ringSlots 0: none. */
  flashAttention(
    out: number, q: number, k: number, v: number, scratch: number,
    nQ: number, startPos: number, nHeads: number, nKVHeads: number, headDim: number,
    scale: number, window: number, softCap: number, ringSlots: number, g0: number, g1: number,
  ): void;
  /** Scratch bytes one flashAttention call needs (per thread). */
  flashScratchBytes(nHeads: number, nKVHeads: number, headDim: number): number;
  /** Key blocks a decode at startPos reads (window 0: none): flash-decoding's units. */
  decodeBlockCount(startPos: number, window: number): number;
  /** Merges a split decode's block partials (in key order) into out (nHeads · headDim). */
  flashDecodeMerge(
    out: number, partials: number, scratch: number, startPos: number, nHeads: number, nKVHeads: number,
    headDim: number, window: number,
  ): void;
  /** The kernels' own e^x and tanh, one value (exported for tests). */
  kernelExp(x: number): number;
  kernelTanh(x: number): number;
}

let compiled: WasmModule | undefined;

/** The kernels module, compiled once per process (synchronously: it is small). */
export function kernelsModule(): WasmModule {
  compiled ??= new wasmApi.Module(Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0)));
  return compiled;
}

export function instantiateKernels(memory: WasmMemory): KernelExports {
  return instantiateKernelsFrom(kernelsModule(), memory);
}

/** Instantiates a module received from another thread over the same shared memory. */
export function instantiateKernelsFrom(module: WasmModule, memory: WasmMemory): KernelExports {
  return new wasmApi.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}
