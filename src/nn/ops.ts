/**
 * The kernels a forward pass runs besides matrix products — norms, activations, residual adds,
 * attention — and the memory its activations and KV cache live in. Layers and models take an Ops
 * and never know which one:
 *
 *  - JS_OPS: the TypeScript kernels (src/kernels/*) over ordinary arrays: the reference.
 *  - wasmOps(runtime): the WebAssembly SIMD kernels, with every buffer in the runtime's shared
 *    memory, so matmuls, attention and norms read each other's outputs in place, with no copies.
 */
import { add, addBias, gelu, swiglu } from "../kernels/elementwise.js";
import { createFlashScratch, flashAttention, type FlashAttentionDims, type FlashScratch } from "../kernels/flash-attention.js";
import { layerNorm, rmsNorm } from "../kernels/norms.js";
import { WasmOps, type WasmRuntime } from "../kernels/wasm/index.js";

export interface Ops {
  readonly kind: "js" | "wasm";
  /** `length` zeroed floats in the memory these kernels work in. */
  floats(length: number): Float32Array;
  /** Gives a buffer from `floats` back (a growing cache replaced it); it must not be used again. */
  release(view: Float32Array): void;
  /** `values` where these kernels read them in place: itself, or a copy there. */
  adopt(values: Float32Array): Float32Array;

  /** out = a + b over the first len values. */
  add(out: Float32Array, a: Float32Array, b: Float32Array, len: number): void;
  /** x (n, dim) += bias (dim). */
  addBias(x: Float32Array, bias: Float32Array, n: number, dim: number): void;
  /** GELU, tanh approximation (gelu_new / gelu_pytorch_tanh). */
  gelu(out: Float32Array, x: Float32Array, len: number): void;
  /** out = silu(gate)·up. */
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void;
  /** out = gelu_tanh(gate)·up. */
  geglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void;
  layerNorm(out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | undefined, n: number, dim: number, eps: number): void;
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void;
  /** Causal (and windowed) attention over a KV cache: src/kernels/flash-attention.ts's contract. */
  attention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, dims: FlashAttentionDims): void;
}

/** The TypeScript kernels. */
class JsOps implements Ops {
  readonly kind = "js" as const;
  private flash: FlashScratch | undefined;

  floats(length: number): Float32Array { return new Float32Array(length); }
  release(): void {}
  adopt(values: Float32Array): Float32Array { return values; }
  add(out: Float32Array, a: Float32Array, b: Float32Array, len: number): void { add(out, a, b, len); }
  addBias(x: Float32Array, bias: Float32Array, n: number, dim: number): void { addBias(x, bias, n, dim); }
  gelu(out: Float32Array, x: Float32Array, len: number): void { gelu(out, x, len); }
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void { swiglu(out, gate, up, len); }

  geglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void {
    gelu(out, gate, len);
    for (let i = 0; i < len; i++) out[i] *= up[i];
  }

  layerNorm(out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | undefined, n: number, dim: number, eps: number): void {
    layerNorm(out, x, weight, bias, n, dim, eps);
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    rmsNorm(out, x, weight, n, dim, eps);
  }

  attention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, dims: FlashAttentionDims): void {
    // One scratch, regrown when a call has another head shape (models keep theirs fixed).
    const group = dims.nHeads / dims.nKVHeads;
    const s = this.flash;
    if (s === undefined || s.headDim !== dims.headDim || s.maxRows < s.tiles.queryBlock * group) {
      this.flash = createFlashScratch(dims.nHeads, dims.nKVHeads, dims.headDim);
    }
    flashAttention(out, q, kCache, vCache, dims, this.flash!);
  }
}

/** The WebAssembly kernels over one runtime's shared memory. */
class WasmOpsAdapter implements Ops {
  readonly kind = "wasm" as const;
  private readonly ops: WasmOps;

  constructor(private readonly runtime: WasmRuntime) {
    this.ops = new WasmOps(runtime);
  }

  floats(length: number): Float32Array { return this.runtime.allocateF32(length); }

  release(view: Float32Array): void { this.runtime.release(view); }

  adopt(values: Float32Array): Float32Array {
    if (this.runtime.offsetOf(values) !== undefined && values.byteOffset % 4 === 0) return values;
    const copy = this.runtime.allocateF32(values.length);
    copy.set(values);
    return copy;
  }

  add(out: Float32Array, a: Float32Array, b: Float32Array, len: number): void { this.ops.add(out, a, b, len); }
  addBias(x: Float32Array, bias: Float32Array, n: number, dim: number): void { this.ops.addBias(x, bias, n, dim); }
  gelu(out: Float32Array, x: Float32Array, len: number): void { this.ops.gelu(out, x, len); }
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void { this.ops.swiglu(out, gate, up, len); }
  geglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void { this.ops.geglu(out, gate, up, len); }

  layerNorm(out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | undefined, n: number, dim: number, eps: number): void {
    this.ops.layerNorm(out, x, weight, bias, n, dim, eps);
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    this.ops.rmsNorm(out, x, weight, n, dim, eps);
  }

  attention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, dims: FlashAttentionDims): void {
    this.ops.flashAttention(out, q, kCache, vCache, dims);
  }
}

export const JS_OPS: Ops = new JsOps();

/** A buffer of `length` floats in the ops' memory that replaces `old` (handed back). */
export function regrow(ops: Ops, old: Float32Array, length: number): Float32Array {
  ops.release(old);
  return ops.floats(length);
}

/** The ops of a runtime (one per runtime, so buffers and scratch are shared by its model). */
const perRuntime = new WeakMap<WasmRuntime, Ops>();

export function wasmOps(runtime: WasmRuntime): Ops {
  let ops = perRuntime.get(runtime);
  if (ops === undefined) {
    ops = new WasmOpsAdapter(runtime);
    perRuntime.set(runtime, ops);
  }
  return ops;
}

/** The ops that go with a matrix backend: WebAssembly when it has a runtime. */
export function opsFor(runtime: WasmRuntime | undefined): Ops {
  return runtime === undefined ? JS_OPS : wasmOps(runtime);
}
