import { JOB_OFFSET } from "../kernels/wasm/layout.js";
import type { KernelExports } from "../kernels/wasm/kernels.js";
import { transpose } from "./ops/matmul.js";
import { attentionBackwardUnit, attentionForwardUnit, type AttentionThreadContext } from "./ops/attention-wasm.js";

/**
 * Control words of the training thread pool, in the reserved low part of the shared memory just
 * past the kernels' job record (src/kernels/wasm/layout.ts keeps [0, HEAP_START) for such words).
 */
export const TRAIN_CONTROL_OFFSET = JOB_OFFSET + 256;

export const Ctl = {
  generation: 0, // bumped once per job; workers wait on it
  pending: 1, // workers that have not finished the current job
  next: 2, // next part to take
  quit: 3,
  failed: 4,
  kind: 5,
  parts: 6,
  // attention operands (float offsets) and dimensions
  out: 8, probs: 9, qkv: 10, dout: 11, B: 12, T: 13, nHeads: 14, nKVHeads: 15, headDim: 16,
  // per-thread scratch: thread i owns [scratch + i·stride, + stride) floats, its job record first
  scratch: 17, scratchStride: 18,
  // transpose operands: out (float offset), input (float offset), rows and columns of the input
  tOut: 19, tIn: 20, tRows: 21, tCols: 22,
  length: 32,
  // kinds
  MATMUL: 1,
  ATTN_FWD: 2,
  ATTN_BWD: 3,
  TRANSPOSE: 4,
} as const;

/** Rows of the input per part of a parallel transpose (a multiple of its 32-row tiles). */
export const TRANSPOSE_ROWS = 64;

/** Takes parts of the current transpose until none are left. */
export function runTransposeShare(heap: Float32Array, c: Int32Array): void {
  const R = c[Ctl.tRows];
  const C = c[Ctl.tCols];
  const out = heap.subarray(c[Ctl.tOut], c[Ctl.tOut] + R * C);
  const input = heap.subarray(c[Ctl.tIn], c[Ctl.tIn] + R * C);
  const parts = c[Ctl.parts];
  for (let p = Atomics.add(c, Ctl.next, 1); p < parts; p = Atomics.add(c, Ctl.next, 1)) {
    transpose(out, input, R, C, p * TRANSPOSE_ROWS, Math.min(R, (p + 1) * TRANSPOSE_ROWS));
  }
}

/** Words at the start of each thread's scratch that hold its private kernel job record. */
export const THREAD_JOB_WORDS = 16;

/** Takes units of the current attention job until none are left (main thread and workers alike). */
export function runAttentionShare(kernels: KernelExports, heap: Float32Array, words: Int32Array, c: Int32Array, thread: number): void {
  const d = { B: c[Ctl.B], T: c[Ctl.T], nHeads: c[Ctl.nHeads], nKVHeads: c[Ctl.nKVHeads], headDim: c[Ctl.headDim] };
  const rows = d.B * d.T;
  const Q = d.nHeads * d.headDim;
  const S = Q + 2 * d.nKVHeads * d.headDim;
  const forward = c[Ctl.kind] === Ctl.ATTN_FWD;
  const out = heap.subarray(c[Ctl.out], c[Ctl.out] + rows * (forward ? Q : S));
  const probs = heap.subarray(c[Ctl.probs], c[Ctl.probs] + d.B * d.nHeads * d.T * d.T);
  const qkv = heap.subarray(c[Ctl.qkv], c[Ctl.qkv] + rows * S);
  const dout = heap.subarray(c[Ctl.dout], c[Ctl.dout] + rows * Q);
  const base = c[Ctl.scratch] + thread * c[Ctl.scratchStride];
  const ctx: AttentionThreadContext = {
    kernels, heap, words, job: base * 4,
    scratch: heap.subarray(base + THREAD_JOB_WORDS, base + c[Ctl.scratchStride]),
  };
  const units = c[Ctl.parts];
  for (let u = Atomics.add(c, Ctl.next, 1); u < units; u = Atomics.add(c, Ctl.next, 1)) {
    if (forward) attentionForwardUnit(ctx, out, probs, qkv, d, u);
    else attentionBackwardUnit(ctx, out, dout, probs, qkv, d, u);
  }
}
