// The fixed part of the shared memory, agreed between the host, the workers and the kernels
// (assembly/index.ts reads the job record at the offsets below).
//
//   [0, 1 KiB)           left zero, so a zero offset never points at live data
//   [1 KiB, 64 KiB)      the kernels' static data (SIMD constants, placed by build.mjs)
//   [64 KiB, +256 B)     control words (Int32Array) for the worker pool
//   [64 KiB + 256, +192) the job record of the current matmul, attention or file read
//   [HEAP_START, …)      the bump allocator: weights, activations, scratch

import type { WasmMemory, WasmModule } from "./kernels.js";

export const CONTROL_OFFSET = 64 * 1024;
export const JOB_OFFSET = CONTROL_OFFSET + 256;
export const HEAP_START = 128 * 1024;
export const PAGE_BYTES = 64 * 1024;
export const MAX_PAGES = 65536; // 4 GiB

/** Indices into the control Int32Array. */
export const Control = {
  /** Bumped by the main thread for every job; workers wait for it to change. */
  generation: 0,
  /** The current job's chunks, claimed one at a time by any thread (see chunks.ts). */
  work: 1,
  /** Set once, at dispose: workers leave their loop. */
  quit: 2,
  /** Set by a worker whose chunk failed (a trap); the main thread reports it. */
  failed: 3,
  /** Workers that have instantiated the module and entered their loop. */
  ready: 4,
  /** Chunks of the current job finished (or given up). */
  done: 5,
  /** Words in the control block. */
  length: 16,
} as const;

/** Job record words (i32), in the order assembly/index.ts reads them. */
export const Job = {
  kind: 0, w: 1, x: 2, xd: 3, xs: 4, out: 5, rows: 6, cols: 7, n: 8, scratch: 9, scratchBytes: 10,
  /** 0: one matrix (w, out, rows above); 2..4: that many matrices sharing x, from `segment`. */
  segments: 11,
  /** Per segment three words: w, out, rows. */
  segment: 12,
  /**
   * An attention job (kind Kind.attention): q, k, v, out, scratch, scratchBytes, nQ, startPos,
   * nHeads, nKVHeads, headDim, scale (f32), window, softCap (f32), ringSlots, and for decode the
   * block partials and the query heads per unit, from this word.
   */
  attention: 24,
  /**
   * A file read (kind READ_KIND, read-job.ts): file descriptor, file position (low and high 32
   * bits), destination offset and byte count (both unsigned), from this word.
   */
  read: 24,
  /** A copy (src, dst, bytes) or a transpose (src, dst, rows, cols, elementBytes), from this word. */
  move: 24,
  length: 48,
} as const;

/** Matrices one job can multiply together (assembly/index.ts MAX_SEGMENTS). */
export const MAX_SEGMENTS = 4;

/** Matmul kinds, as assembly/index.ts and assembly/quantized.ts number them. */
export const Kind = { f32: 0, f16: 1, bf16: 2, q8_0: 3, q4_0: 4, q4_k: 5, q6_k: 6 } as const;
export type KernelDType = keyof typeof Kind;

/** The job kind of an attention job (assembly/index.ts KIND_ATTENTION). */
export const ATTENTION_KIND = 16;

/** Job kinds that move bytes at load time (assembly/index.ts runMove): fields from Job.move on. */
export const COPY_KIND = 17;
export const TRANSPOSE_KIND = 18;

/** The job kind of a file read, which the workers run in JavaScript (read-job.ts). */
export const READ_KIND = 32;

/** What the main thread passes to each worker at start. */
export interface WorkerSetup {
  module: WasmModule;
  memory: WasmMemory;
  /** This worker's thread number (1 .. threads - 1; the main thread is 0): its scratch slot. */
  part: number;
  spinMicros: number;
}
