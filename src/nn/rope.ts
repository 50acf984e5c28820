import { LoomError } from "../errors.js";
import { ropeNeox, ropeNormal, type RopeStyle } from "../kernels/rope.js";
import { ropeFrequencies, type RopeScaling } from "./rope-scaling.js";

const TABLE_CHUNK = 256;

export interface RopeConfig {
  /** Leading dims of each head that rotate (even, ≤ headDim). */
  rotDim: number;
  headDim: number;
  /** θ base (rope_theta / rope.freq_base). */
  base: number;
  scaling: RopeScaling;
  style: RopeStyle;
  /** Per-pair divisors of the frequencies after scaling (a GGUF `rope_freqs` tensor), if any. */
  freqFactors?: ArrayLike<number>;
}

/**
 * RoPE for one model (or one kind of layer): frequencies from src/nn/rope-scaling.ts, and cos/sin
 * tables (positions, rotDim/2) — already multiplied by the scaling's attention factor — that grow
 * in chunks as positions are reached, never per token.
 *
 * Dynamic NTK and LongRoPE frequencies depend on the sequence length, which HF takes as the last
 * position of the forward call + 1 (keys already cached keep the rotation they got). The model
 * announces it with setSequenceLength before a call; when the frequencies change, the table
 * restarts at the call's first position.
 */
export class RotaryEmbedding {
  private invFreq: Float64Array;
  private attentionFactor: number;
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  /** The table holds positions [first, filled). */
  private first = 0;
  private filled = 0;
  private readonly lengthDependent: boolean;

  constructor(readonly config: RopeConfig) {
    const { rotDim, headDim, freqFactors } = config;
    if (!Number.isInteger(rotDim) || rotDim < 2 || rotDim % 2 !== 0 || rotDim > headDim) {
      throw new LoomError(`RoPE dimension ${rotDim} must be even, positive and at most the head size ${headDim}`);
    }
    if (freqFactors !== undefined && freqFactors.length !== rotDim / 2) {
      throw new LoomError(`RoPE frequency factors have ${freqFactors.length} entries, expected ${rotDim / 2}`);
    }
    this.lengthDependent = config.scaling.type === "dynamic" || config.scaling.type === "longrope";
    ({ invFreq: this.invFreq, attentionFactor: this.attentionFactor } = this.frequencies(undefined));
  }

  get rotDim(): number { return this.config.rotDim; }
  get style(): RopeStyle { return this.config.style; }
  get headDim(): number { return this.config.headDim; }

  /** The frequencies currently in use: position p rotates pair i by p·invFreq[i]. */
  get inverseFrequencies(): Float64Array { return this.invFreq; }

  /** Cos and sin are multiplied by this (YaRN / LongRoPE magnitude; 1 otherwise). */
  get magnitude(): number { return this.attentionFactor; }

  /** The sequence length the next calls serve (matters only for dynamic NTK and LongRoPE). */
  setSequenceLength(length: number): void {
    if (!this.lengthDependent) return;
    const next = this.frequencies(length);
    const same = next.attentionFactor === this.attentionFactor && next.invFreq.every((f, i) => f === this.invFreq[i]);
    if (same) return;
    this.invFreq = next.invFreq;
    this.attentionFactor = next.attentionFactor;
    this.first = this.filled = 0; // rebuilt from the next call's first position
  }

  /** Rotates x (seqLen, nHeads·headDim) in place for positions startPos.. */
  apply(x: Float32Array, seqLen: number, nHeads: number, startPos: number): void {
    this.ensure(startPos, startPos + seqLen);
    // The kernels index the tables by position; shift so that row 0 is position `first`.
    const dims = { seqLen, nHeads, headDim: this.headDim, rotDim: this.rotDim, startPos: startPos - this.first };
    if (this.style === "neox") ropeNeox(x, this.cos, this.sin, dims);
    else ropeNormal(x, this.cos, this.sin, dims);
  }

  private frequencies(seqLen: number | undefined): { invFreq: Float64Array; attentionFactor: number } {
    const { rotDim, base, scaling, freqFactors } = this.config;
    const f = ropeFrequencies(rotDim, base, scaling, seqLen);
    if (freqFactors) for (let i = 0; i < f.invFreq.length; i++) f.invFreq[i] /= freqFactors[i];
    return f;
  }

  /** Makes the tables cover positions [from, to), computing only rows not yet there. */
  private ensure(from: number, to: number): void {
    if (from >= this.first && to <= this.filled) return;
    const half = this.invFreq.length;
    if (from < this.first || this.filled === this.first) {
      // Start over (first use, new frequencies, or a position before the table after a restart).
      // Length-independent tables always start at 0, so they only ever grow.
      this.first = this.filled = this.lengthDependent ? from : 0;
    }
    const capacity = this.cos.length / half;
    if (to - this.first > capacity) {
      const rows = Math.ceil(Math.max(to - this.first, 2 * capacity) / TABLE_CHUNK) * TABLE_CHUNK;
      const cos = new Float32Array(rows * half), sin = new Float32Array(rows * half);
      cos.set(this.cos.subarray(0, (this.filled - this.first) * half));
      sin.set(this.sin.subarray(0, (this.filled - this.first) * half));
      this.cos = cos;
      this.sin = sin;
    }
    const m = this.attentionFactor;
    for (let p = this.filled; p < to; p++) {
      const o = (p - this.first) * half;
      for (let i = 0; i < half; i++) {
        const angle = p * this.invFreq[i];
        this.cos[o + i] = Math.cos(angle) * m;
        this.sin[o + i] = Math.sin(angle) * m;
      }
    }
    this.filled = to;
  }
}
