// The forward pass's other kernels — activations, residual adds, norms, attention — on the
// WebAssembly SIMD kernels (assembly/activations.ts, assembly/attention.ts). Same contracts as the
// TypeScript kernels in src/kernels/ (elementwise.ts, norms.ts, flash-attention.ts), which stay the
// reference. Views into the runtime's shared memory are used in place; any argument from elsewhere
// is copied through a staging region of this object (and outputs copied back), so everything
// works, only slower.
import { LoomError } from "../../errors.js";
import { checkAttentionCall, type FlashAttentionDims } from "../flash-attention.js";
import type { KernelExports } from "./kernels.js";
import type { WasmRuntime } from "./runtime.js";

/** How a kernel uses an argument: read, written, or both. */
type Role = "in" | "out" | "inout";

interface Binding {
  view: Float32Array;
  /** Floats the kernel touches, from the start of the view. */
  floats: number;
  role: Role;
}

const ALIGN = 64;

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function isCount(x: number): boolean {
  return Number.isInteger(x) && x >= 0;
}

function isPositive(x: number): boolean {
  return Number.isInteger(x) && x > 0;
}

export class WasmOps {
  private readonly kernels: KernelExports;
  /** Region for arguments that live outside the shared memory. */
  private staging: Uint8Array | undefined;
  /** flashAttention's working memory (O(tile × headDim), not O(sequence)). */
  private attentionScratch: Uint8Array | undefined;
  /** The whole memory as floats, refreshed when the memory grows. */
  private heap: Float32Array;

  constructor(private readonly runtime: WasmRuntime) {
    this.kernels = runtime.kernels;
    this.heap = new Float32Array(runtime.memory.buffer);
  }

  /** out = gelu_tanh(x) (gelu_new) over len values; out may alias x. */
  gelu(out: Float32Array, x: Float32Array, len: number): void {
    checkCount("gelu", "len", len);
    checkFloats("gelu", "out", out, len);
    checkFloats("gelu", "x", x, len);
    const o = this.offset(out), a = this.offset(x);
    if (o >= 0 && a >= 0) this.kernels.opGelu(o, a, len);
    else this.staged([{ view: out, floats: len, role: "out" }, { view: x, floats: len, role: "in" }], (at) => this.kernels.opGelu(at[0], at[1], len));
  }

  /** out = silu(gate)·up over len values. */
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void {
    this.gated("swiglu", out, gate, up, len);
  }

  /** out = gelu_tanh(gate)·up over len values. */
  geglu(out: Float32Array, gate: Float32Array, up: Float32Array, len: number): void {
    this.gated("geglu", out, gate, up, len);
  }

  /** out = a + b over len values (bit-identical to the TypeScript kernel). */
  add(out: Float32Array, a: Float32Array, b: Float32Array, len: number): void {
    this.gated("add", out, a, b, len);
  }

  /** x (n, dim) += bias (dim), row by row (bit-identical to the TypeScript kernel). */
  addBias(x: Float32Array, bias: Float32Array, n: number, dim: number): void {
    checkRows("addBias", n, dim);
    checkFloats("addBias", "x", x, n * dim);
    checkFloats("addBias", "bias", bias, dim);
    const a = this.offset(x), b = this.offset(bias);
    if (n === 0) return;
    if (a >= 0 && b >= 0) this.kernels.opAddBias(a, b, n, dim);
    else {
      this.staged(
        [{ view: x, floats: n * dim, role: "inout" }, { view: bias, floats: dim, role: "in" }],
        (at) => this.kernels.opAddBias(at[0], at[1], n, dim),
      );
    }
  }

  /** LayerNorm over the last dimension of x (n, dim), population variance; out may alias x. */
  layerNorm(
    out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array | undefined,
    n: number, dim: number, eps: number,
  ): void {
    checkRows("layerNorm", n, dim, eps);
    checkFloats("layerNorm", "out", out, n * dim);
    checkFloats("layerNorm", "x", x, n * dim);
    checkFloats("layerNorm", "weight", weight, dim);
    if (bias !== undefined) checkFloats("layerNorm", "bias", bias, dim);
    if (n === 0) return;
    const o = this.offset(out), a = this.offset(x), w = this.offset(weight), b = bias === undefined ? 0 : this.offset(bias);
    if (o >= 0 && a >= 0 && w >= 0 && b >= 0) this.kernels.opLayerNorm(o, a, w, b, n, dim, eps);
    else {
      const args: Binding[] = [
        { view: out, floats: n * dim, role: "out" }, { view: x, floats: n * dim, role: "in" }, { view: weight, floats: dim, role: "in" },
      ];
      if (bias !== undefined) args.push({ view: bias, floats: dim, role: "in" });
      this.staged(args, (at) => this.kernels.opLayerNorm(at[0], at[1], at[2], bias === undefined ? 0 : at[3], n, dim, eps));
    }
  }

  /** RMSNorm over the last dimension of x (n, dim); out may alias x. */
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    checkRows("rmsNorm", n, dim, eps);
    checkFloats("rmsNorm", "out", out, n * dim);
    checkFloats("rmsNorm", "x", x, n * dim);
    checkFloats("rmsNorm", "weight", weight, dim);
    if (n === 0) return;
    const o = this.offset(out), a = this.offset(x), w = this.offset(weight);
    if (o >= 0 && a >= 0 && w >= 0) this.kernels.opRmsNorm(o, a, w, n, dim, eps);
    else {
      this.staged(
        [{ view: out, floats: n * dim, role: "out" }, { view: x, floats: n * dim, role: "in" }, { view: weight, floats: dim, role: "in" }],
        (at) => this.kernels.opRmsNorm(at[0], at[1], at[2], n, dim, eps),
      );
    }
  }

  /** Same contract, dims and masks as src/kernels/flash-attention.ts flashAttention (GQA, window, ringSlots, softCap). */
  flashAttention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, dims: FlashAttentionDims): void {
    this.flashAttentionHeads(out, q, kCache, vCache, dims, 0, dims.nKVHeads);
  }

  /**
   * The same for the query heads of KV heads [g0, g1) only (the rest of out is left alone): each
   * row comes out bit-identical to a whole call's, so heads may be split across calls or threads.
   */
  flashAttentionHeads(
    out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, dims: FlashAttentionDims,
    g0: number, g1: number,
  ): void {
    const kvRows = checkAttention(out, q, kCache, vCache, dims);
    if (!Number.isInteger(g0) || !Number.isInteger(g1) || g0 < 0 || g1 > dims.nKVHeads || g0 > g1) {
      throw new LoomError(`flashAttention: KV heads [${g0}, ${g1}) are not a range within 0..${dims.nKVHeads}`);
    }
    const scratch = this.attentionScratchOf(this.kernels.flashScratchBytes(dims.nHeads, dims.nKVHeads, dims.headDim));
    const qFloats = dims.nQ * dims.nHeads * dims.headDim;
    const kvFloats = kvRows * dims.nKVHeads * dims.headDim;
    const run = (o: number, qAt: number, kAt: number, vAt: number): void => this.kernels.flashAttention(
      o, qAt, kAt, vAt, scratch, dims.nQ, dims.startPos, dims.nHeads, dims.nKVHeads, dims.headDim,
      dims.scale, dims.window ?? 0, dims.softCap ?? 0, dims.ringSlots ?? 0, g0, g1,
    );
    const o = this.offset(out), a = this.offset(q), k = this.offset(kCache), v = this.offset(vCache);
    const whole = g0 === 0 && g1 === dims.nKVHeads;
    if (o >= 0 && a >= 0 && k >= 0 && v >= 0) {
      // Spread over the threads when it pays; the rows are the same either way.
      const pooled = whole && this.runtime.attention({
        out: o, q: a, k, v, nQ: dims.nQ, startPos: dims.startPos, nHeads: dims.nHeads, nKVHeads: dims.nKVHeads,
        headDim: dims.headDim, scale: dims.scale, window: dims.window ?? 0, softCap: dims.softCap ?? 0, ringSlots: dims.ringSlots ?? 0,
      });
      if (!pooled) run(o, a, k, v);
    }
    else {
      // A staged out starts as a copy of out, so heads outside [g0, g1) come back unchanged.
      this.staged(
        [
          { view: out, floats: qFloats, role: g0 === 0 && g1 === dims.nKVHeads ? "out" : "inout" },
          { view: q, floats: qFloats, role: "in" },
          { view: kCache, floats: kvFloats, role: "in" },
          { view: vCache, floats: kvFloats, role: "in" },
        ],
        (at) => run(at[0], at[1], at[2], at[3]),
      );
    }
  }

  private gated(name: "swiglu" | "geglu" | "add", out: Float32Array, a: Float32Array, b: Float32Array, len: number): void {
    checkCount(name, "len", len);
    checkFloats(name, "out", out, len);
    checkFloats(name, name === "add" ? "a" : "gate", a, len);
    checkFloats(name, name === "add" ? "b" : "up", b, len);
    const kernel = name === "swiglu" ? this.kernels.opSwiglu : name === "geglu" ? this.kernels.opGeglu : this.kernels.opAdd;
    const o = this.offset(out), x = this.offset(a), y = this.offset(b);
    if (o >= 0 && x >= 0 && y >= 0) kernel(o, x, y, len);
    else {
      this.staged(
        [{ view: out, floats: len, role: "out" }, { view: a, floats: len, role: "in" }, { view: b, floats: len, role: "in" }],
        (at) => kernel(at[0], at[1], at[2], len),
      );
    }
  }

  /** The byte offset of view in the shared memory, or −1 if it lives elsewhere. */
  private offset(view: Float32Array): number {
    return this.runtime.offsetOf(view) ?? -1;
  }

  /** Runs `kernel` with arguments from elsewhere copied into the staging region, and outputs copied back. */
  private staged(args: readonly Binding[], kernel: (offsets: number[]) => void): void {
    let bytes = 0;
    for (const a of args) if (this.runtime.offsetOf(a.view) === undefined) bytes += alignUp(a.floats * 4, ALIGN);
    const base = this.stagingOf(bytes);
    const heap = this.floats();
    let next = base;
    const offsets = args.map((a) => {
      const inMemory = this.runtime.offsetOf(a.view);
      if (inMemory !== undefined) return inMemory;
      const at = next;
      next += alignUp(a.floats * 4, ALIGN);
      if (a.role !== "out") heap.set(a.view.subarray(0, a.floats), at / 4);
      return at;
    });
    kernel(offsets);
    args.forEach((a, i) => {
      if (a.role !== "in" && this.runtime.offsetOf(a.view) === undefined) {
        a.view.set(this.floats().subarray(offsets[i] / 4, offsets[i] / 4 + a.floats));
      }
    });
  }

  private stagingOf(bytes: number): number {
    if (bytes === 0) return 0;
    if (this.staging === undefined || this.staging.byteLength < bytes) {
      if (this.staging !== undefined) this.runtime.release(this.staging);
      this.staging = this.runtime.allocate(Math.max(bytes, 2 * (this.staging?.byteLength ?? 0), 1 << 16));
    }
    return this.staging.byteOffset;
  }

  private attentionScratchOf(bytes: number): number {
    if (this.attentionScratch === undefined || this.attentionScratch.byteLength < bytes) {
      if (this.attentionScratch !== undefined) this.runtime.release(this.attentionScratch);
      this.attentionScratch = this.runtime.allocate(bytes);
    }
    return this.attentionScratch.byteOffset;
  }

  private floats(): Float32Array {
    const buffer = this.runtime.memory.buffer;
    if (this.heap.buffer !== buffer) this.heap = new Float32Array(buffer);
    return this.heap;
  }
}

function checkCount(kernel: string, name: string, value: number): void {
  if (!isCount(value)) throw new LoomError(`wasm ${kernel}: ${name} must be a non-negative integer, got ${value}`);
}

function checkFloats(kernel: string, name: string, view: Float32Array, floats: number): void {
  if (view.length < floats) throw new LoomError(`wasm ${kernel}: ${name} has ${view.length} floats, need ${floats}`);
}

function checkRows(kernel: string, n: number, dim: number, eps?: number): void {
  if (!isCount(n) || !isPositive(dim)) {
    throw new LoomError(`wasm ${kernel}: n must be a non-negative and dim a positive integer, got n=${n}, dim=${dim}`);
  }
  if (eps !== undefined && !(eps >= 0 && Number.isFinite(eps))) throw new LoomError(`wasm ${kernel}: eps must be a finite number ≥ 0, got ${eps}`);
}

/**
 * flash-attention.ts's checks (less its scratch): sizes, the ring and the cache lengths. Returns the
 * K/V rows the call reads.
 */
function checkAttention(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, d: FlashAttentionDims): number {
  const { rowsNeeded, where } = checkAttentionCall(out, q, k, v, d, "wasm flashAttention");
  if (d.startPos + d.nQ > 2 ** 31 - 1) throw new LoomError(`${where}: positions past 2³¹ are not supported`);
  return rowsNeeded;
}
