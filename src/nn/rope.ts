import { fillRopeTables, ropeNeox, ropeNormal, type RopeStyle } from "../kernels/rope.js";

const TABLE_CHUNK = 256;

/**
 * RoPE for one model: the inverse frequencies (already scaled, e.g. llama3) and cos/sin tables
 * (nCtx, rotDim/2) that grow in chunks as positions are reached — never per token.
 */
export class RotaryEmbedding {
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  private filled = 0;

  constructor(
    readonly invFreq: Float64Array,
    readonly style: RopeStyle,
    readonly headDim: number,
  ) {}

  get rotDim(): number { return this.invFreq.length * 2; }

  /** Rotates x (seqLen, nHeads·headDim) in place for positions startPos.. */
  apply(x: Float32Array, seqLen: number, nHeads: number, startPos: number): void {
    this.ensure(startPos + seqLen);
    const dims = { seqLen, nHeads, headDim: this.headDim, rotDim: this.rotDim, startPos };
    if (this.style === "neox") ropeNeox(x, this.cos, this.sin, dims);
    else ropeNormal(x, this.cos, this.sin, dims);
  }

  private ensure(positions: number): void {
    if (positions <= this.filled) return;
    const half = this.invFreq.length;
    const capacity = Math.ceil(Math.max(positions, this.filled * 2) / TABLE_CHUNK) * TABLE_CHUNK;
    const cos = new Float32Array(capacity * half);
    const sin = new Float32Array(capacity * half);
    cos.set(this.cos);
    sin.set(this.sin);
    fillRopeTables(cos, sin, this.invFreq, this.filled, capacity);
    this.cos = cos;
    this.sin = sin;
    this.filled = capacity;
  }
}
