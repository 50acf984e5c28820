import type { Floats } from "../floats.js";

/**
 * Turns logits (N, V) into probabilities in place and writes each position's loss
 * −log p[target] into losses (N). Returns the mean loss. Softmax sums run in double precision.
 */
export function softmaxCrossEntropyForward(losses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
    const targetLogit = logits[o + targets[n]];
    let sum = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(logits[o + v] - max);
      logits[o + v] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) logits[o + v] *= inv;
    // From the log-sum-exp rather than log(p), so that a tiny probability is not rounded to 0.
    losses[n] = max + Math.log(sum) - targetLogit;
    total += losses[n];
  }
  return total / N;
}

/** dlogits = (p − onehot(target)) · scale, in place over the probabilities (N, V). */
export function softmaxCrossEntropyBackward(probs: Floats, targets: Int32Array, N: number, V: number, scale: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    for (let v = 0; v < V; v++) probs[o + v] *= scale;
    probs[o + targets[n]] -= scale;
  }
}
