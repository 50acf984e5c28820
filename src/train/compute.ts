import { cpus } from "node:os";
import { Worker } from "node:worker_threads";
import { LoomError } from "../errors.js";
import { instantiateKernels, kernelsModule, type KernelExports, type WasmMemory } from "../kernels/wasm/kernels.js";
import { Job, JOB_OFFSET, Kind } from "../kernels/wasm/layout.js";
import type { Floats } from "./floats.js";
import { matmulTransB, transpose } from "./ops/matmul.js";
import { attentionBackward, attentionForward, attentionUnits, type AttentionDims } from "./ops/attention.js";
import { Ctl, THREAD_JOB_WORDS, TRAIN_CONTROL_OFFSET, TRANSPOSE_ROWS, runAttentionShare, runTransposeShare } from "./compute-share.js";
import { attentionScratchSize } from "./ops/attention-wasm.js";

/**
 * The heavy ops of a training step — matmuls and attention — behind one small interface, so that
 * the model code reads the same whether they run in TypeScript on one thread or in the shared
 * WebAssembly kernels across cores.
 */
export interface Compute {
  readonly threads: number;
  /** out (M, N) = a (M, K) · b (N, K)ᵀ, or += with `accumulate`. */
  matmul(out: Floats, a: Floats, b: Floats, M: number, N: number, K: number, accumulate: boolean): void;
  attentionForward(out: Floats, probs: Floats, qkv: Floats, d: AttentionDims): void;
  attentionBackward(dqkv: Floats, dout: Floats, probs: Floats, qkv: Floats, d: AttentionDims): void;
  /** out (C, R) = input (R, C)ᵀ */
  transpose(out: Floats, input: Floats, R: number, C: number): void;
  dispose(): void;
}

/** Everything in TypeScript on the calling thread. Works for Float32Array and Float64Array alike. */
export class SerialCompute implements Compute {
  readonly threads = 1;
  private scratch = new Float64Array(0);

  matmul(out: Floats, a: Floats, b: Floats, M: number, N: number, K: number, accumulate: boolean): void {
    matmulTransB(out, a, b, M, N, K, accumulate);
  }
  attentionForward(out: Floats, probs: Floats, qkv: Floats, d: AttentionDims): void {
    attentionForward(out, probs, qkv, d);
  }
  attentionBackward(dqkv: Floats, dout: Floats, probs: Floats, qkv: Floats, d: AttentionDims): void {
    if (this.scratch.length < d.T) this.scratch = new Float64Array(d.T);
    attentionBackward(dqkv, dout, probs, qkv, d, this.scratch);
  }
  transpose(out: Floats, input: Floats, R: number, C: number): void {
    transpose(out, input, R, C);
  }
  dispose(): void {}
}

/**
 * Matmuls in the project's WebAssembly SIMD kernels (src/kernels/wasm), attention in TypeScript,
 * both split across the calling thread and `threads − 1` workers that share one
 * WebAssembly.Memory. Every operand must be a Float32Array view into that memory. Work is taken in
 * parts through an atomic counter, so a core busy with another process simply takes fewer parts.
 * Synchronisation is Atomics.wait/notify on a few control words: no messages, no copies.
 */
export class WasmCompute implements Compute {
  readonly threads: number;
  private readonly kernels: KernelExports;
  private readonly heap: Float32Array;
  private readonly words: Int32Array;
  private readonly ctl: Int32Array;
  private readonly job: Int32Array;
  private readonly workers: Worker[] = [];

  /** Floats of per-thread scratch that `threadScratch` must hold for `threads` threads. */
  static scratchSize(threads: number, maxT: number, headDim: number): number {
    return threads * (THREAD_JOB_WORDS + attentionScratchSize(maxT, headDim));
  }

  /**
   * `accumulator` (at least the largest M·N of an accumulating matmul) holds a product before it
   * is added to its target, since the kernel overwrites its output. `threadScratch` holds
   * scratchSize(threads, maxT, headDim) floats.
   */
  constructor(
    memory: WasmMemory, threads: number, private readonly accumulator: Float32Array, threadScratch: Float32Array,
  ) {
    if (!(memory.buffer instanceof SharedArrayBuffer)) throw new LoomError("WasmCompute needs a shared WebAssembly.Memory");
    this.threads = Math.max(1, threads);
    this.kernels = instantiateKernels(memory);
    this.heap = new Float32Array(accumulator.buffer);
    this.words = new Int32Array(accumulator.buffer);
    this.ctl = new Int32Array(accumulator.buffer, TRAIN_CONTROL_OFFSET, Ctl.length);
    this.job = new Int32Array(accumulator.buffer, JOB_OFFSET, Job.length);
    this.ctl.fill(0);
    this.ctl[Ctl.scratch] = this.offset(threadScratch, "threadScratch");
    this.ctl[Ctl.scratchStride] = Math.floor(threadScratch.length / this.threads);
    for (let thread = 1; thread < this.threads; thread++) {
      const worker = new Worker(new URL("./compute-worker.js", import.meta.url), {
        workerData: { memory, module: kernelsModule(), thread },
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Float index of a view into the shared memory. */
  private offset(view: Floats, what: string): number {
    // Compared with our own view's buffer, not memory.buffer: V8 may hand out a fresh
    // SharedArrayBuffer object for a shared memory (e.g. after another memory in the process grew).
    if (!(view instanceof Float32Array) || view.buffer !== this.heap.buffer) {
      throw new LoomError(`WasmCompute: ${what} is not a Float32Array view into the training memory`);
    }
    return view.byteOffset >> 2;
  }

  /** Posts the job described in the control words, takes parts of it, waits for the workers. */
  private run(kind: number, parts: number): void {
    const c = this.ctl;
    c[Ctl.kind] = kind;
    c[Ctl.parts] = parts;
    Atomics.store(c, Ctl.next, 0);
    Atomics.store(c, Ctl.pending, this.workers.length);
    if (this.workers.length > 0) {
      Atomics.add(c, Ctl.generation, 1);
      Atomics.notify(c, Ctl.generation);
    }
    this.share();
    for (;;) {
      const pending = Atomics.load(c, Ctl.pending);
      if (pending === 0) break;
      Atomics.wait(c, Ctl.pending, pending, 5);
    }
    if (Atomics.load(c, Ctl.failed) !== 0) throw new LoomError("WasmCompute: a worker failed while running a training op");
  }

  /** The calling thread's share of the current job. */
  private share(): void {
    const c = this.ctl;
    if (c[Ctl.kind] === Ctl.MATMUL) {
      const parts = c[Ctl.parts];
      for (let p = Atomics.add(c, Ctl.next, 1); p < parts; p = Atomics.add(c, Ctl.next, 1)) this.kernels.runPart(JOB_OFFSET, p, parts);
    } else if (c[Ctl.kind] === Ctl.TRANSPOSE) {
      runTransposeShare(this.heap, c);
    } else {
      runAttentionShare(this.kernels, this.heap, this.words, c, 0);
    }
  }

  matmul(out: Floats, a: Floats, b: Floats, M: number, N: number, K: number, accumulate: boolean): void {
    if (accumulate && this.accumulator.length < M * N) {
      throw new LoomError(`WasmCompute: accumulator holds ${this.accumulator.length} numbers, the product needs ${M * N}`);
    }
    const target = accumulate ? this.accumulator : out;
    // The kernel computes out (n, rows) = x (n, cols) · Wᵀ: here x = a, W = b.
    const j = this.job;
    j[Job.kind] = Kind.f32;
    j[Job.w] = this.offset(b, "b") * 4;
    j[Job.x] = this.offset(a, "a") * 4;
    j[Job.out] = this.offset(target, "out") * 4;
    j[Job.rows] = N;
    j[Job.cols] = K;
    j[Job.n] = M;
    const quads = Math.ceil(N / 4);
    this.run(Ctl.MATMUL, Math.min(quads, this.threads === 1 ? 1 : 4 * this.threads));
    if (accumulate) {
      const acc = this.accumulator;
      for (let i = 0; i < M * N; i++) out[i] += acc[i];
    }
  }

  transpose(out: Floats, input: Floats, R: number, C: number): void {
    // Small ones are not worth waking anyone (nor are they worth a shared-memory check).
    if (this.workers.length === 0 || R * C < 1 << 16) {
      transpose(out, input, R, C);
      return;
    }
    const c = this.ctl;
    c[Ctl.tOut] = this.offset(out, "out");
    c[Ctl.tIn] = this.offset(input, "input");
    c[Ctl.tRows] = R;
    c[Ctl.tCols] = C;
    this.run(Ctl.TRANSPOSE, Math.ceil(R / TRANSPOSE_ROWS));
  }

  attentionForward(out: Floats, probs: Floats, qkv: Floats, d: AttentionDims): void {
    this.attention(Ctl.ATTN_FWD, out, probs, qkv, qkv, d);
  }

  attentionBackward(dqkv: Floats, dout: Floats, probs: Floats, qkv: Floats, d: AttentionDims): void {
    this.attention(Ctl.ATTN_BWD, dqkv, probs, qkv, dout, d);
  }

  private attention(kind: number, out: Floats, probs: Floats, qkv: Floats, dout: Floats, d: AttentionDims): void {
    const c = this.ctl;
    c[Ctl.out] = this.offset(out, "out");
    c[Ctl.probs] = this.offset(probs, "probs");
    c[Ctl.qkv] = this.offset(qkv, "qkv");
    c[Ctl.dout] = this.offset(dout, "dout");
    c[Ctl.B] = d.B;
    c[Ctl.T] = d.T;
    c[Ctl.nHeads] = d.nHeads;
    c[Ctl.nKVHeads] = d.nKVHeads;
    c[Ctl.headDim] = d.headDim;
    this.run(kind, attentionUnits(d));
  }

  dispose(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctl, Ctl.quit, 1);
    Atomics.add(this.ctl, Ctl.generation, 1);
    Atomics.notify(this.ctl, Ctl.generation);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/** One thread per core, as the machine reports it. */
export function defaultThreads(): number {
  return Math.max(1, cpus().length);
}
