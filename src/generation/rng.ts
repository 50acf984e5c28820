/**
 * The only source of randomness in generation: a seeded xoshiro128** generator. Same seed, same draws,
 * on every platform (all arithmetic is 32-bit integer math).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
}

/** splitmix32: spreads one 32-bit seed over independent-looking state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    const next = splitmix32(seed);
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3 >>> 0, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** 53 random bits, so every double in [0, 1) on that grid is reachable. */
  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }
}

export function createRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/** A seed for stream `index` of a run seeded with `seed` (row i of a batch gets its own stream). */
export function deriveSeed(seed: number, index: number): number {
  if (index === 0) return seed >>> 0; // row 0 of a batch draws exactly what a lone prompt would
  const mix = splitmix32((seed >>> 0) ^ Math.imul(index, 0x632be5ab));
  mix();
  return mix();
}

/** A fresh seed when the caller gave none (unseeded sampling, as in HF without set_seed). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
