// Shared by the speed tests: greedy decoding with a KV cache, and comparing logits.
import type { CausalLM } from "../../src/models/types.js";

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Prefill `prompt`, then `steps` greedy tokens one forward at a time; every step's logits are kept. */
export async function greedyRun(model: CausalLM, prompt: readonly number[], steps: number): Promise<{ ids: number[]; logits: Float32Array[] }> {
  const cache = model.createCache();
  const ids: number[] = [];
  const logits: Float32Array[] = [];
  let last = await model.forward(prompt, 0, cache);
  for (let i = 0; i < steps; i++) {
    logits.push(last);
    ids.push(argmax(last));
    if (i + 1 < steps) last = await model.forward([ids[i]], prompt.length + i, cache);
  }
  return { ids, logits };
}

/** Largest |a − b| over every step's logits. */
export function maxLogitDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let max = 0;
  a.forEach((row, s) => {
    for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i] - b[s][i]));
  });
  return max;
}
