import { LoomError } from "../errors.js";
import type { TrainModel } from "./model.js";
import type { Rng } from "./rng.js";

export interface SampleOptions {
  maxNewTokens: number;
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens before sampling (0 = all). */
  topK?: number;
  rng?: Rng;
  /** Stop after producing this id (it is included in the result). */
  stopId?: number;
}

/**
 * Continues `prompt` with the training model's own forward pass (no KV cache: each new token
 * reruns the last maxT tokens — slow but obviously right, and enough for quoting samples).
 * Returns only the new ids.
 */
export function generateIds(model: TrainModel, prompt: number[], options: SampleOptions): number[] {
  if (prompt.length === 0) throw new LoomError("generate: the prompt must hold at least one token");
  if (options.temperature > 0 && !options.rng) throw new LoomError("generate: sampling needs an rng");
  const V = model.config.vocabSize;
  const context = [...prompt];
  const out: number[] = [];
  const probs = new Float64Array(V);
  for (let i = 0; i < options.maxNewTokens; i++) {
    const window = context.slice(-model.maxT);
    model.forward(window, null, 1, window.length);
    const logits = model.logits.subarray((window.length - 1) * V, window.length * V);
    const next = options.temperature > 0 ? sample(logits, options, probs) : argmax(logits);
    out.push(next);
    context.push(next);
    if (next === options.stopId) break;
  }
  return out;
}

function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
  return best;
}

function sample(logits: ArrayLike<number>, o: SampleOptions, probs: Float64Array): number {
  const V = logits.length;
  let threshold = -Infinity;
  if (o.topK && o.topK < V) threshold = Array.from(logits).sort((a, b) => b - a)[o.topK - 1];
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[v] > max) max = logits[v];
  let sum = 0;
  for (let v = 0; v < V; v++) {
    probs[v] = logits[v] >= threshold ? Math.exp((logits[v] - max) / o.temperature) : 0;
    sum += probs[v];
  }
  let r = o.rng!.uniform() * sum;
  for (let v = 0; v < V; v++) {
    r -= probs[v];
    if (r <= 0 && probs[v] > 0) return v;
  }
  return argmax(logits);
}
