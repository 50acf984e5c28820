// The WebAssembly runtime: one shared memory (weights, activations, scratch), a bump allocator
// over it, the kernels instance of the main thread and the worker pool.
import { availableParallelism } from "node:os";
import { LoomError } from "../../errors.js";
import { instantiateKernels, kernelsModule, wasmApi, type KernelExports, type WasmMemory } from "./kernels.js";
import { ATTENTION_KIND, COPY_KIND, TRANSPOSE_KIND, HEAP_START, JOB_OFFSET, Job, Kind, MAX_PAGES, MAX_SEGMENTS, PAGE_BYTES, type KernelDType } from "./layout.js";
import { MAX_CHUNKS } from "./chunks.js";
import { READ_CHUNK_BYTES, readChunk, writeReadJob } from "./read-job.js";
import { WorkerPool } from "./pool.js";

export interface WasmRuntimeOptions {
  /** Threads doing matmuls, the main thread included. Default: os.availableParallelism(). */
  threads?: number;
  /** How long a waiting thread spins before it sleeps, in µs. Default 500 (a wake from sleep costs ~12 µs). */
  spinMicros?: number;
  /**
   * Multiply-adds below which a matmul runs on the main thread alone (waking workers costs more).
   * Default 32768; tests set 0 to force every matmul through the pool.
   */
  minParallelWork?: number;
}

const ALIGN = 64;

/** Chunks per thread in a pooled matmul: enough that a late thread's share is picked up by the others. */
const CHUNKS_PER_THREAD = 8;
/** The same for quantized weights (see matmulMany). */
const QUANTIZED_CHUNKS_PER_THREAD = 4;

/** Values `encode` takes per call (a multiple of 32): 1 MiB of f32. */
const ENCODE_CHUNK = 1 << 18;

/** One matrix of a `matmulMany` job: W (rows, cols) at byte offset w, and where its output goes. */
export interface MatmulPart {
  w: number;
  rows: number;
  out: Float32Array;
}

/**
 * One attention call, as byte offsets into the runtime's memory (see src/kernels/flash-attention.ts
 * for the meaning; window, softCap and ringSlots 0 mean none).
 */
export interface AttentionJob {
  out: number; q: number; k: number; v: number;
  nQ: number; startPos: number; nHeads: number; nKVHeads: number; headDim: number;
  scale: number; window: number; softCap: number; ringSlots: number;
}

/** Bytes per unit of a copy job, and source rows per band of a transpose job (assembly/index.ts). */
const COPY_UNIT = 4 << 20;
const TRANSPOSE_BAND = 32;

/** How long readInto waits for workers that are still starting (they take ~40 ms here). */
const WORKER_START_WAIT_MS = 1000;

/** Query positions per tile of the attention kernel (assembly/attention.ts QUERY_BLOCK). */
const ATTENTION_QUERY_BLOCK = 16;

/** What `encode` writes. */
export type EncodeDType = "q8_0" | "q4_0" | "f16";

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export class WasmRuntime {
  readonly memory: WasmMemory;
  readonly threads: number;
  readonly kernels: KernelExports;
  private readonly pool: WorkerPool | undefined;
  private readonly minParallelWork: number;
  private readonly job: Int32Array;
  private readonly jobFloats: Float32Array;
  /** Every SharedArrayBuffer object memory.buffer has returned: views over any of them are ours. */
  private readonly buffers = new Set<ArrayBufferLike>();
  private top = HEAP_START;
  /** Regions handed back by `release`, reused first-fit before the heap grows. */
  private free: Array<{ offset: number; bytes: number }> = [];
  private scratch = { offset: 0, bytes: 0 };
  private floats: Float32Array;
  private disposed = false;
  /** The main thread's share of a pooled job. */
  private readonly runChunk = (chunk: number, slot: number): void => this.kernels.runChunk(JOB_OFFSET, chunk, this.chunks, slot);
  /** Chunks the current job is cut into. */
  private chunks = 1;
  /** Per part of the current matmulMany job: its output's byte offset, and 1 where that is a staging copy in scratch. */
  private readonly outOffsets = new Float64Array(MAX_SEGMENTS);
  private readonly outStaged = new Uint8Array(MAX_SEGMENTS);

  constructor(options: WasmRuntimeOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new LoomError(`wasm kernels: threads must be an integer in 1..256, got ${threads}`);
    }
    this.threads = threads;
    this.minParallelWork = options.minParallelWork ?? 32768;
    this.memory = new wasmApi.Memory({ initial: HEAP_START / PAGE_BYTES, maximum: MAX_PAGES, shared: true });
    this.floats = this.refreshViews();
    this.job = new Int32Array(this.memory.buffer, JOB_OFFSET, Job.length);
    this.jobFloats = new Float32Array(this.memory.buffer, JOB_OFFSET, Job.length);
    this.kernels = instantiateKernels(this.memory);
    this.pool = threads > 1 ? new WorkerPool(this.memory, kernelsModule(), threads, options.spinMicros ?? 500) : undefined;
  }

  /**
   * `byteLength` fresh (zeroed) bytes in the shared memory, aligned to `alignment` (default 64), as a view
   * that stays valid for the runtime's life. Weight readers read file bytes straight into it.
   */
  allocate(byteLength: number, alignment = ALIGN): Uint8Array {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new LoomError(`wasm kernels: cannot allocate ${byteLength} bytes`);
    }
    const reused = this.reuse(byteLength, alignment);
    if (reused !== undefined) return new Uint8Array(this.memory.buffer, reused, byteLength).fill(0);
    const offset = alignUp(this.top, alignment);
    const end = offset + byteLength;
    if (end > MAX_PAGES * PAGE_BYTES) {
      throw new LoomError(
        `wasm kernels: allocating ${byteLength} bytes would pass the 4 GiB WebAssembly memory limit ` +
        `(${offset} bytes in use)`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow in steps of at least 1/8 of the current size so many small allocations stay cheap.
      const wanted = Math.max(end, Math.min(MAX_PAGES * PAGE_BYTES, have + have / 8));
      this.memory.grow(Math.ceil((wanted - have) / PAGE_BYTES));
      this.refreshViews();
    }
    this.top = end;
    const buffer = this.memory.buffer;
    this.buffers.add(buffer); // normally already known; cheap insurance for offsetOf
    return new Uint8Array(buffer, offset, byteLength);
  }

  /**
   * Hands a region from `allocate` back for reuse (a growing KV cache or activation buffer frees
   * the old one). The view must not be used afterwards.
   */
  release(view: ArrayBufferView): void {
    const offset = this.offsetOf(view);
    if (offset === undefined || view.byteLength === 0) return;
    this.free.push({ offset, bytes: view.byteLength });
  }

  /** First fit among released regions; the rest of the region stays free. */
  private reuse(byteLength: number, alignment: number): number | undefined {
    for (let i = 0; i < this.free.length; i++) {
      const region = this.free[i];
      const offset = alignUp(region.offset, alignment);
      const end = offset + byteLength;
      if (end > region.offset + region.bytes) continue;
      const rest = region.offset + region.bytes - end;
      if (rest >= ALIGN) this.free[i] = { offset: end, bytes: rest };
      else this.free.splice(i, 1);
      return offset;
    }
    return undefined;
  }

  /** `length` f32 in the shared memory: activations here are used by the kernels without a copy. */
  allocateF32(length: number): Float32Array {
    const bytes = this.allocate(length * 4);
    return new Float32Array(bytes.buffer, bytes.byteOffset, length);
  }

  /** The byte offset of `view` in the shared memory, or undefined if it lives elsewhere. */
  offsetOf(view: ArrayBufferView): number | undefined {
    return this.buffers.has(view.buffer) ? view.byteOffset : undefined;
  }

  /** Bytes handed out so far (weights and scratch), for memory reports. */
  get allocatedBytes(): number {
    return this.top - HEAP_START;
  }

  /**
   * out (n, rows) = x (n, cols) · Wᵀ for W of `dtype` at byte offset `w`. x and out may live
   * anywhere; views into the shared memory are used in place, others are copied through scratch.
   */
  matmul(dtype: KernelDType, w: number, rows: number, cols: number, out: Float32Array, x: Float32Array, n: number): void {
    this.matmulMany(dtype, [{ w, rows, out }], cols, x, n);
  }

  /**
   * Several products with the same x and the same weight type in one job (one synchronisation,
   * the activations quantized once): Q, K and V, or gate and up. Each output equals its own matmul.
   */
  matmulMany(dtype: KernelDType, parts: readonly MatmulPart[], cols: number, x: Float32Array, n: number): void {
    if (this.disposed) throw new LoomError("wasm kernels: the runtime was disposed");
    if (n === 0 || parts.length === 0) return;
    if (parts.length > MAX_SEGMENTS) throw new LoomError(`wasm kernels: at most ${MAX_SEGMENTS} matrices per job, got ${parts.length}`);
    const kind = Kind[dtype];
    const quantized = kind >= Kind.q8_0;
    const kQuant = dtype === "q4_k" || dtype === "q6_k";
    let totalRows = 0;
    for (let i = 0; i < parts.length; i++) totalRows += parts[i].rows;
    const threads = totalRows * cols * n < this.minParallelWork ? 1 : this.threads;
    const expandBytes = alignUp(Math.max(128 * 1024, cols * 2 + Math.ceil(cols / 4) + 64), ALIGN);

    // Scratch: [x f32 | outs f32 | xq i16 | xd f32 | xs i32 | expanded rows per thread]; x and
    // outs only when they are not already in the shared memory. (Plain loops over typed arrays
    // here, no per-call arrays: this runs ~100 times a token, and arrays whose elements are
    // sometimes offsets and sometimes undefined kept V8 deoptimizing it.)
    const xIn = this.offsetOf(x);
    let at = xIn === undefined ? alignUp(n * cols * 4, ALIGN) : 0;
    const outOffsets = this.outOffsets, staged = this.outStaged;
    for (let i = 0; i < parts.length; i++) {
      const own = this.offsetOf(parts[i].out);
      staged[i] = own === undefined ? 1 : 0;
      outOffsets[i] = own === undefined ? at : own; // staged ones: relative to the scratch until it is known
      if (own === undefined) at += alignUp(n * parts[i].rows * 4, ALIGN);
    }
    const xqAt = at;
    const xdAt = xqAt + (quantized ? alignUp(n * cols * 2, ALIGN) : 0);
    const xsAt = xdAt + (quantized ? alignUp(n * cols / 8, ALIGN) : 0); // ≤ one f32 per 32 values
    const expandAt = xsAt + (quantized ? alignUp(n * cols / 8, ALIGN) : 0); // one i32 per 32 values
    // Per thread: expanded rows for a prefill, 64 bytes of block sums for a decode.
    const partBytes = n >= 4 ? expandBytes : ALIGN;
    const size = expandAt + (quantized ? partBytes * threads : 0);
    const base = this.scratchOf(size);

    const xOffset = xIn ?? base;
    for (let i = 0; i < parts.length; i++) if (staged[i] === 1) outOffsets[i] += base;
    if (xIn === undefined) this.floats.set(x.subarray(0, n * cols), xOffset / 4);

    const job = this.job;
    job[Job.kind] = kind;
    job[Job.w] = parts[0].w;
    job[Job.out] = outOffsets[0];
    job[Job.rows] = parts[0].rows;
    job[Job.cols] = cols;
    job[Job.n] = n;
    job[Job.segments] = parts.length === 1 ? 0 : parts.length;
    for (let i = 0; i < parts.length; i++) {
      job[Job.segment + 3 * i] = parts[i].w;
      job[Job.segment + 3 * i + 1] = outOffsets[i];
      job[Job.segment + 3 * i + 2] = parts[i].rows;
    }
    if (quantized) {
      const count = n * cols;
      if (kQuant) this.kernels.quantizeQ8_K(xOffset, base + xqAt, base + xdAt, base + xsAt, count);
      else this.kernels.quantizeQ8_0(xOffset, base + xqAt, base + xdAt, count);
      job[Job.x] = base + xqAt;
      job[Job.xd] = base + xdAt;
      job[Job.xs] = base + xsAt;
      job[Job.scratch] = base + expandAt;
      job[Job.scratchBytes] = partBytes;
    } else {
      job[Job.x] = xOffset;
    }

    // A few chunks per thread, guided (big first; assembly/index.ts), so a thread that starts late
    // or runs slower takes fewer. Quantized decode pairs rows half the matrix apart whatever the
    // chunk, and does best with 4 chunks per thread; f32 with 8 (one vCPU here runs an f32 job
    // ~1.5× slower than the other, so finer balance wins).
    const perThread = quantized ? QUANTIZED_CHUNKS_PER_THREAD : CHUNKS_PER_THREAD;
    this.chunks = Math.max(1, Math.min(threads * perThread, Math.ceil(totalRows / 4), MAX_CHUNKS));
    const pooled = threads > 1 && this.pool !== undefined && this.pool.run(this.chunks, this.runChunk);
    if (!pooled) this.kernels.runChunk(JOB_OFFSET, 0, 1, 0);

    for (let i = 0; i < parts.length; i++) {
      if (staged[i] === 0) continue;
      const from = outOffsets[i] / 4;
      parts[i].out.set(this.floats.subarray(from, from + n * parts[i].rows));
    }
  }

  /**
   * Flash attention (assembly/attention.ts) split across the threads by KV head and query tile;
   * every argument is a byte offset into this memory, already checked by the caller. Returns
   * false, having done nothing, when the work is too small to be worth waking the workers or they
   * are not up: the caller then runs the kernel itself.
   */
  attention(job: AttentionJob): boolean {
    if (this.disposed) throw new LoomError("wasm kernels: the runtime was disposed");
    const work = job.nQ * job.nHeads * job.headDim * (job.startPos + job.nQ);
    if (this.threads === 1 || this.pool === undefined || !this.pool.running || work < this.minParallelWork) return false;
    // Decode splits the key blocks (flash-decoding): each unit reads whole key rows, front to back.
    // Splitting the heads instead had each thread read half of every row, slower than one thread
    // for GPT-2 (the prefetchers fetch the other half too).
    const decodeBlocks = job.nQ === 1 ? this.kernels.decodeBlockCount(job.startPos, job.window) : 0;
    if (job.nQ === 1 && decodeBlocks < 2) return false;
    const scratchBytes = alignUp(this.kernels.flashScratchBytes(job.nHeads, job.nKVHeads, job.headDim), ALIGN);
    this.attentionScratch = this.atLeast(this.attentionScratch, scratchBytes * this.threads);
    const words = this.job, floats = this.jobFloats, a = Job.attention;
    words[Job.kind] = ATTENTION_KIND;
    words[a] = job.q;
    words[a + 1] = job.k;
    words[a + 2] = job.v;
    words[a + 3] = job.out;
    words[a + 4] = this.attentionScratch.byteOffset;
    words[a + 5] = scratchBytes;
    words[a + 6] = job.nQ;
    words[a + 7] = job.startPos;
    words[a + 8] = job.nHeads;
    words[a + 9] = job.nKVHeads;
    words[a + 10] = job.headDim;
    floats[a + 11] = job.scale;
    words[a + 12] = job.window;
    floats[a + 13] = job.softCap;
    words[a + 14] = job.ringSlots;
    if (job.nQ === 1) {
      // Units: (key block, run of query heads); one per chunk, claimed as the threads come free.
      const group = job.nHeads / job.nKVHeads;
      // Whole heads' worth of rows per unit where they fit the kernel's tile: cutting the heads
      // further (TinyLlama's 32 into runs of 8 or 16) read key rows in pieces again and was slower.
      const runHeads = ATTENTION_QUERY_BLOCK * group;
      const runs = Math.ceil(job.nHeads / runHeads);
      words[a + 16] = runHeads;
      this.decodePartials = this.atLeast(this.decodePartials, decodeBlocks * job.nHeads * (job.headDim + 4) * 4);
      words[a + 15] = this.decodePartials.byteOffset;
      this.chunks = Math.min(decodeBlocks * runs, MAX_CHUNKS);
      const pooled = this.pool.run(this.chunks, this.runChunk);
      if (pooled) {
        this.kernels.flashDecodeMerge(
          job.out, this.decodePartials.byteOffset, this.attentionScratch.byteOffset, job.startPos,
          job.nHeads, job.nKVHeads, job.headDim, job.window,
        );
      }
      return pooled;
    }
    // Prefill: (KV head, query tile) units, a few chunks per thread.
    const units = job.nKVHeads * Math.ceil(job.nQ / ATTENTION_QUERY_BLOCK);
    this.chunks = Math.max(1, Math.min(units, this.threads * CHUNKS_PER_THREAD, MAX_CHUNKS));
    return this.pool.run(this.chunks, this.runChunk);
  }

  private attentionScratch: Uint8Array | undefined;
  /** A split decode's block partials (assembly/attention.ts flashDecodeBlocks). */
  private decodePartials: Uint8Array | undefined;

  /** `current` if it holds `bytes`, else a fresh region of `bytes` (handing `current` back). */
  private atLeast(current: Uint8Array | undefined, bytes: number): Uint8Array {
    if (current !== undefined && current.byteLength >= bytes) return current;
    if (current !== undefined) this.release(current);
    return this.allocate(bytes);
  }

  /**
   * Fills `into`, a view of this memory, with the bytes of the open file `fd` from `position` on,
   * the workers reading chunks of it alongside this thread (waiting up to WORKER_START_WAIT_MS for
   * them to start). Returns false, having read nothing, when `into` lies elsewhere, is small, or
   * the workers are not up: the caller reads it itself.
   */
  readInto(fd: number, position: number, into: Uint8Array): boolean {
    if (this.disposed) throw new LoomError("wasm kernels: the runtime was disposed");
    const at = this.offsetOf(into);
    if (at === undefined || into.byteLength < 2 * READ_CHUNK_BYTES || this.pool === undefined) return false;
    // Right after the runtime is made, the workers may still be starting: worth a short wait.
    if (!this.pool.waitRunning(WORKER_START_WAIT_MS)) return false;
    const chunks = writeReadJob(this.job, fd, position, at, into.byteLength);
    return this.pool.run(chunks, (chunk) => readChunk(this.memory.buffer, this.job, chunk));
  }

  /**
   * dst (cols, rows) = src (rows, cols)ᵀ for 2- or 4-byte values, for checkpoints that store weights
   * (in, out). src and dst may be the same view (an in-place transpose) and may live outside this
   * memory; the values pass through scratch.
   */
  transpose(src: Uint8Array, dst: Uint8Array, rows: number, cols: number, elementBytes: 2 | 4): void {
    const bytes = rows * cols * elementBytes;
    if (src.byteLength !== bytes || dst.byteLength !== bytes) {
      throw new LoomError(
        `wasm kernels: a (${rows}, ${cols}) matrix of ${elementBytes}-byte values takes ${bytes} bytes, ` +
        `got ${src.byteLength} in and ${dst.byteLength} out`,
      );
    }
    const srcIn = this.offsetOf(src), dstIn = this.offsetOf(dst);
    const scratch = this.scratchOf(dstIn === undefined ? 2 * bytes : bytes);
    if (srcIn === undefined || !this.moveJob(COPY_KIND, [srcIn, scratch, bytes], Math.ceil(bytes / COPY_UNIT))) {
      new Uint8Array(this.memory.buffer, scratch, bytes).set(src);
    }
    const to = dstIn ?? scratch + bytes;
    if (!this.moveJob(TRANSPOSE_KIND, [scratch, to, rows, cols, elementBytes], Math.ceil(rows / TRANSPOSE_BAND))) {
      if (elementBytes === 4) this.kernels.transpose32(scratch, to, rows, cols);
      else this.kernels.transpose16(scratch, to, rows, cols);
    }
    if (dstIn === undefined) dst.set(new Uint8Array(this.memory.buffer, to, bytes));
  }

  /**
   * A copy or transpose job (assembly/index.ts runMove) on every thread, `units` pieces of work.
   * Returns false, having done nothing, when it is small or the workers are not up.
   */
  private moveJob(kind: typeof COPY_KIND | typeof TRANSPOSE_KIND, fields: number[], units: number): boolean {
    if (units < 2 || this.pool === undefined || !this.pool.running) return false;
    this.job[Job.kind] = kind;
    fields.forEach((value, i) => { this.job[Job.move + i] = value; });
    this.chunks = Math.min(units, this.threads * CHUNKS_PER_THREAD, MAX_CHUNKS);
    return this.pool.run(this.chunks, this.runChunk);
  }

  /**
   * Encodes f32 weights (anywhere) as `dtype` into `out` (a view into this memory), with the same
   * bytes as src/tensor/quantize.ts: for quantizing a model on load.
   */
  encode(dtype: EncodeDType, values: Float32Array, out: Uint8Array): void {
    const count = values.length;
    const valueBytes = dtype === "f16" ? 2 : dtype === "q8_0" ? 34 / 32 : 18 / 32;
    const outAt = this.offsetOf(out);
    if (outAt === undefined || out.byteLength !== count * valueBytes || (dtype !== "f16" && count % 32 !== 0)) {
      throw new LoomError(`wasm kernels: encoding ${count} values as ${dtype} needs ${count * valueBytes} bytes of this runtime's memory`);
    }
    const encode = dtype === "q8_0" ? this.kernels.encodeQ8_0 : dtype === "q4_0" ? this.kernels.encodeQ4_0 : this.kernels.encodeF16;
    const inMemory = this.offsetOf(values);
    // In pieces, so values from elsewhere pass through a small scratch.
    for (let start = 0; start < count; start += ENCODE_CHUNK) {
      const length = Math.min(ENCODE_CHUNK, count - start);
      let at = inMemory === undefined ? undefined : inMemory + 4 * start;
      if (at === undefined) {
        at = this.scratchOf(4 * length);
        new Float32Array(this.memory.buffer, at, length).set(values.subarray(start, start + length));
      }
      encode(at, outAt + start * valueBytes, length);
    }
  }

  /**
   * Resolves when every worker thread runs. Matmuls before that run on this thread alone, so
   * awaiting this is optional.
   */
  ready(): Promise<void> {
    return this.pool?.ready ?? Promise.resolve();
  }

  /** Whether matmuls currently run on all `threads` threads (false until the workers are up). */
  get parallel(): boolean {
    return this.pool?.running ?? false;
  }

  /** Stops the worker threads. The memory stays readable; further matmuls throw. */
  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
  }

  /** A scratch region of at least `bytes`, reused across calls (it only ever grows). */
  private scratchOf(bytes: number): number {
    if (bytes > this.scratch.bytes) {
      const grown = Math.max(bytes, this.scratch.bytes * 2, 1 << 20);
      this.scratch = { offset: this.allocate(grown).byteOffset, bytes: grown };
    }
    return this.scratch.offset;
  }

  private refreshViews(): Float32Array {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    this.floats = new Float32Array(buffer);
    return this.floats;
  }
}

/** A runtime with its own shared memory and `threads` threads (default: every core). */
export function createWasmRuntime(options: WasmRuntimeOptions = {}): WasmRuntime {
  return new WasmRuntime(options);
}
