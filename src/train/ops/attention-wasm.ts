import { Job, Kind } from "../../kernels/wasm/layout.js";
import type { KernelExports } from "../../kernels/wasm/kernels.js";
import { transpose } from "./matmul.js";
import type { AttentionDims } from "./attention.js";

/**
 * The same causal attention as ./attention.ts, but with its four products per head done by the
 * WebAssembly matmul kernel: per (batch, head) the scores are Q·Kᵀ (T, T) and the output P·V,
 * and the backward pass is dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q. Heads are first copied
 * into contiguous (T, d) tiles (and transposed where the kernel wants the other operand), since
 * the kernel reads both operands along contiguous rows. The masked upper triangle is computed
 * and thrown away: twice the multiplies, still far faster than scalar loops.
 *
 * One call handles one unit (batch b, kv head) with the calling thread's own scratch and job
 * record, so threads can take units independently.
 */
export interface AttentionThreadContext {
  kernels: KernelExports;
  /** The whole shared memory as floats and as words (for the job record). */
  heap: Float32Array;
  words: Int32Array;
  /** Byte offset of this thread's 16-word job record. */
  job: number;
  /** This thread's scratch, attentionScratchSize(T, headDim) floats. */
  scratch: Float32Array;
}

export function attentionScratchSize(T: number, headDim: number): number {
  return 3 * T * T + 14 * T * headDim;
}

/** out (n, rows) = x (n, cols) · wᵀ through the kernel; all three are views into the shared memory. */
function kernelMatmul(ctx: AttentionThreadContext, out: Float32Array, x: Float32Array, w: Float32Array, n: number, rows: number, cols: number): void {
  const j = ctx.job >> 2;
  const words = ctx.words;
  words[j + Job.kind] = Kind.f32;
  words[j + Job.w] = w.byteOffset;
  words[j + Job.x] = x.byteOffset;
  words[j + Job.out] = out.byteOffset;
  words[j + Job.rows] = rows;
  words[j + Job.cols] = cols;
  words[j + Job.n] = n;
  ctx.kernels.runPart(ctx.job, 0, 1);
}

/** Carves the scratch into named tiles. */
function tiles(ctx: AttentionThreadContext, T: number, hd: number) {
  let next = 0;
  const take = (n: number): Float32Array => {
    const v = ctx.scratch.subarray(next, next + n);
    next += n;
    return v;
  };
  return {
    q: take(T * hd), qT: take(T * hd), k: take(T * hd), kT: take(T * hd), v: take(T * hd), vT: take(T * hd),
    o: take(T * hd), dO: take(T * hd), dOT: take(T * hd), dq: take(T * hd), dk: take(T * hd), dv: take(T * hd),
    accK: take(T * hd), accV: take(T * hd),
    tt1: take(T * T), tt2: take(T * T), tt3: take(T * T),
  };
}

/** Copies head columns [col, col + hd) of T rows (stride S, starting at row0) into a (T, hd) tile. */
function gather(tile: Float32Array, src: Float32Array, row0: number, T: number, S: number, col: number, hd: number): void {
  for (let t = 0; t < T; t++) {
    const o = (row0 + t) * S + col;
    for (let i = 0; i < hd; i++) tile[t * hd + i] = src[o + i];
  }
}

function scatter(dst: Float32Array, tile: Float32Array, row0: number, T: number, S: number, col: number, hd: number): void {
  for (let t = 0; t < T; t++) {
    const o = (row0 + t) * S + col;
    for (let i = 0; i < hd; i++) dst[o + i] = tile[t * hd + i];
  }
}

export function attentionForwardUnit(
  ctx: AttentionThreadContext, out: Float32Array, probs: Float32Array, qkv: Float32Array, d: AttentionDims, unit: number,
): void {
  const { T, nHeads, nKVHeads, headDim: hd } = d;
  const Q = nHeads * hd;
  const S = Q + 2 * nKVHeads * hd;
  const group = nHeads / nKVHeads;
  const scale = 1 / Math.sqrt(hd);
  const b = Math.floor(unit / nKVHeads);
  const kvh = unit % nKVHeads;
  const row0 = b * T;
  const x = tiles(ctx, T, hd);
  gather(x.k, qkv, row0, T, S, Q + kvh * hd, hd);
  gather(x.v, qkv, row0, T, S, Q + nKVHeads * hd + kvh * hd, hd);
  transpose(x.vT, x.v, T, hd);
  for (let h = kvh * group; h < (kvh + 1) * group; h++) {
    gather(x.q, qkv, row0, T, S, h * hd, hd);
    const p = probs.subarray((b * nHeads + h) * T * T, (b * nHeads + h + 1) * T * T);
    kernelMatmul(ctx, p, x.q, x.k, T, T, hd); // scores (T, T)
    for (let t = 0; t < T; t++) {
      const o = t * T;
      let max = -Infinity;
      for (let t2 = 0; t2 <= t; t2++) {
        const s = p[o + t2] * scale;
        p[o + t2] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        const e = Math.exp(p[o + t2] - max);
        p[o + t2] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let t2 = 0; t2 <= t; t2++) p[o + t2] *= inv;
      for (let t2 = t + 1; t2 < T; t2++) p[o + t2] = 0;
    }
    kernelMatmul(ctx, x.o, p, x.vT, T, hd, T); // P·V (T, hd)
    scatter(out, x.o, row0, T, Q, h * hd, hd);
  }
}

export function attentionBackwardUnit(
  ctx: AttentionThreadContext, dqkv: Float32Array, dout: Float32Array, probs: Float32Array, qkv: Float32Array,
  d: AttentionDims, unit: number,
): void {
  const { T, nHeads, nKVHeads, headDim: hd } = d;
  const Q = nHeads * hd;
  const S = Q + 2 * nKVHeads * hd;
  const group = nHeads / nKVHeads;
  const scale = 1 / Math.sqrt(hd);
  const b = Math.floor(unit / nKVHeads);
  const kvh = unit % nKVHeads;
  const row0 = b * T;
  const kCol = Q + kvh * hd;
  const vCol = Q + nKVHeads * hd + kvh * hd;
  const x = tiles(ctx, T, hd);
  gather(x.k, qkv, row0, T, S, kCol, hd);
  transpose(x.kT, x.k, T, hd);
  gather(x.v, qkv, row0, T, S, vCol, hd);
  // dK and dV of the kv head collect the gradients of every query head of its group
  const accK = x.accK.fill(0);
  const accV = x.accV.fill(0);
  const dP = x.tt1;
  const pT = x.tt2;
  const dsT = x.tt3;
  for (let h = kvh * group; h < (kvh + 1) * group; h++) {
    gather(x.q, qkv, row0, T, S, h * hd, hd);
    transpose(x.qT, x.q, T, hd);
    gather(x.dO, dout, row0, T, Q, h * hd, hd);
    transpose(x.dOT, x.dO, T, hd);
    const p = probs.subarray((b * nHeads + h) * T * T, (b * nHeads + h + 1) * T * T);
    kernelMatmul(ctx, dP, x.dO, x.v, T, T, hd); // dP = dO·Vᵀ (T, T)
    transpose(pT, p, T, T);
    kernelMatmul(ctx, x.dv, pT, x.dOT, T, hd, T); // dV = Pᵀ·dO (T, hd)
    for (let i = 0; i < T * hd; i++) accV[i] += x.dv[i];
    // dS = P ∘ (dP − Σ P∘dP) · scale, in place over dP (zeros above the diagonal)
    for (let t = 0; t < T; t++) {
      const o = t * T;
      let pdp = 0;
      for (let t2 = 0; t2 <= t; t2++) pdp += p[o + t2] * dP[o + t2];
      for (let t2 = 0; t2 <= t; t2++) dP[o + t2] = p[o + t2] * (dP[o + t2] - pdp) * scale;
      for (let t2 = t + 1; t2 < T; t2++) dP[o + t2] = 0;
    }
    kernelMatmul(ctx, x.dq, dP, x.kT, T, hd, T); // dQ = dS·K (T, hd)
    scatter(dqkv, x.dq, row0, T, S, h * hd, hd);
    transpose(dsT, dP, T, T);
    kernelMatmul(ctx, x.dk, dsT, x.qT, T, hd, T); // dK = dSᵀ·Q (T, hd)
    for (let i = 0; i < T * hd; i++) accK[i] += x.dk[i];
  }
  scatter(dqkv, accK, row0, T, S, kCol, hd);
  scatter(dqkv, accV, row0, T, S, vCol, hd);
}
