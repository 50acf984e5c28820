/**
 * llama.cpp's sampler contract: a sampler transforms a candidate set in place; stateful samplers
 * learn the token history through `accept`; `chain(...)` is itself a sampler. A chain meant to pick a
 * token ends in a selector (`greedy()` or `distribution(rng)`) that sets `selected`.
 */
import type { CandidateSet } from "./candidates.js";

export interface Sampler {
  readonly name: string;
  apply(candidates: CandidateSet): void;
  /** Learns that `token` is now part of the sequence (prompt tokens included). */
  accept?(token: number): void;
  /** An independent copy with the same learned state (beam search forks sequences). */
  clone(): Sampler;
}

export class SamplerChain implements Sampler {
  readonly name = "chain";
  constructor(readonly samplers: readonly Sampler[]) {}

  apply(candidates: CandidateSet): void {
    for (const sampler of this.samplers) sampler.apply(candidates);
  }

  accept(token: number): void {
    for (const sampler of this.samplers) sampler.accept?.(token);
  }

  acceptAll(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) this.accept(tokens[i]);
  }

  clone(): SamplerChain {
    return new SamplerChain(this.samplers.map((s) => s.clone()));
  }
}

export function chain(...samplers: Sampler[]): SamplerChain {
  return new SamplerChain(samplers);
}
