/**
 * Loom's side of the oracle runs: greedy decoding with a KV cache (prefill, then one token per
 * forward), exposing each step's log-probabilities for comparison with llama.cpp's.
 */
import type { CausalLM } from "../../src/models/types.js";
import type { OracleStep } from "./llamacpp.js";

/** One decoding step's logits, with log-softmax on demand (in f64). */
export class LoomStep {
  readonly argmax: number;
  private readonly logSumExp: number;

  constructor(private readonly logits: Float32Array) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    this.argmax = best;
    const max = logits[best];
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
    this.logSumExp = max + Math.log(sum);
  }

  logprob(id: number): number {
    return this.logits[id] - this.logSumExp;
  }

  /** The k most likely ids, most likely first. */
  top(k: number): number[] {
    const { logits } = this;
    const ids: number[] = [];
    for (let i = 0; i < logits.length; i++) {
      if (ids.length === k && logits[i] <= logits[ids[k - 1]]) continue;
      let at = ids.length;
      while (at > 0 && logits[ids[at - 1]] < logits[i]) at--;
      ids.splice(at, 0, i);
      if (ids.length > k) ids.pop();
    }
    return ids;
  }
}

/**
 * `steps` decoding steps after `prompt`. Each step's token is `forced[i]` when given (so Loom is
 * scored on exactly the contexts llama.cpp saw), else Loom's own greedy choice.
 */
export async function loomSteps(model: CausalLM, prompt: readonly number[], steps: number, forced?: readonly number[]): Promise<LoomStep[]> {
  const cache = model.createCache();
  const out: LoomStep[] = [];
  let logits = await model.forward(prompt, 0, cache);
  for (let i = 0; i < steps; i++) {
    const step = new LoomStep(logits);
    out.push(step);
    if (i + 1 < steps) logits = await model.forward([forced?.[i] ?? step.argmax], prompt.length + i, cache);
  }
  return out;
}

export interface Comparison {
  /** Steps where Loom's greedy token equals llama.cpp's. */
  sameTokens: number;
  /** The first step where they differ, or -1. */
  firstDifference: number;
  /** Largest |Δ log-probability| over llama.cpp's top 5 of every step. */
  maxLogprobDiff: number;
  /** Steps where the two top-5 sets differ beyond a near-tie at the 5th place. */
  topSetMismatches: number[];
  /** Steps whose greedy tokens differ while llama.cpp's top two are further apart than `tolerance`. */
  decisiveMismatches: number[];
}

/** Loom's steps (on llama.cpp's tokens) scored against llama.cpp's, with `tolerance` for near-ties. */
export function compareSteps(loom: readonly LoomStep[], oracle: readonly OracleStep[], tolerance: number): Comparison {
  let sameTokens = 0, firstDifference = -1, maxLogprobDiff = 0;
  const topSetMismatches: number[] = [], decisiveMismatches: number[] = [];
  oracle.forEach((o, i) => {
    const l = loom[i];
    if (l.argmax === o.token) sameTokens++;
    else {
      if (firstDifference < 0) firstDifference = i;
      if (o.top[0].logprob - o.top[1].logprob > tolerance) decisiveMismatches.push(i);
    }
    for (const { id, logprob } of o.top) maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(l.logprob(id) - logprob));
    const oracleIds = new Set(o.top.map((t) => t.id));
    const fifth = o.top[o.top.length - 1].logprob;
    const strays = l.top(o.top.length).filter((id) => !oracleIds.has(id) && l.logprob(id) - fifth > tolerance);
    if (strays.length > 0) topSetMismatches.push(i);
  });
  return { sameTokens, firstDifference, maxLogprobDiff, topSetMismatches, decisiveMismatches };
}
