/**
 * Cheap, seeded random weights for benchmark checkpoints. A tensor's values depend only on the
 * model seed and the tensor's name, and come from one xorshift32 stream read front to back, so a
 * tensor can be produced in row chunks of any size and still equal the whole-tensor fill.
 */

/** How a tensor's values are drawn. */
export type ValueKind =
  /** A weight matrix or embedding: uniform with standard deviation `std`. */
  | "matrix"
  /** A norm's scale: close to 1. */
  | "norm"
  /** A bias: small, centred on 0. */
  | "bias";

/** FNV-1a over the name's UTF-16 code units, mixed with the model seed; never 0 (xorshift's fixed point). */
export function tensorSeed(modelSeed: number, name: string): number {
  let h = (0x811c9dc5 ^ modelSeed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h === 0 ? 0x9e3779b9 : h;
}

/** A resumable stream of one tensor's values. */
export class ValueStream {
  private state: number;
  /** Half-width of the uniform draw, divided by 2^31 so a signed 32-bit draw maps straight onto it. */
  private readonly halfWidth: number;
  private readonly centre: number;

  constructor(seed: number, kind: ValueKind, std: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
    // A uniform on [-a, a) has standard deviation a/√3.
    const a = kind === "norm" ? 0.05 : kind === "bias" ? std : std * Math.sqrt(3);
    this.halfWidth = a / 2 ** 31;
    this.centre = kind === "norm" ? 1 : 0;
  }

  /** Writes the next `count` values into `out[0..count)`. */
  fill(out: Float32Array, count = out.length): void {
    let s = this.state;
    const w = this.halfWidth;
    const c = this.centre;
    for (let i = 0; i < count; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = c + (s | 0) * w;
    }
    this.state = s >>> 0;
  }
}
