/** Selecting the best entries of a score vector, with a fixed tie rule: the lower index wins. */
import type { Rng } from "./rng.js";

/** Indices of the k largest values, best first (ties: lower index first; -inf entries can be picked). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, values.length);
  const best: number[] = []; // kept sorted best-first; O(values * k) worst case, O(values) typically
  const better = (a: number, b: number): boolean => values[a] > values[b] || (values[a] === values[b] && a < b);
  for (let i = 0; i < values.length; i++) {
    if (best.length === n && !better(i, best[n - 1])) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && better(i, best[at - 1])) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

/**
 * k indices drawn without replacement from softmax(values), in draw order (torch.multinomial with
 * replacement=False). When fewer than k entries have non-zero probability, the rest are filled with
 * the best remaining entries (torch would raise instead).
 */
export function sampleWithoutReplacement(values: ArrayLike<number>, k: number, rng: Rng): number[] {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const weights = new Float64Array(values.length);
  let remaining = 0;
  for (let i = 0; i < values.length; i++) {
    weights[i] = max === -Infinity ? 0 : Math.exp(values[i] - max);
    remaining += weights[i];
  }
  const picked: number[] = [];
  const taken = new Set<number>();
  while (picked.length < Math.min(k, values.length) && remaining > 0) {
    const u = rng.uniform() * remaining;
    let cumulative = 0;
    let chosen = -1;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] === 0) continue;
      chosen = i;
      cumulative += weights[i];
      if (u < cumulative) break;
    }
    if (chosen < 0) break;
    picked.push(chosen);
    taken.add(chosen);
    remaining -= weights[chosen];
    weights[chosen] = 0;
    if (remaining <= 0) {
      remaining = 0;
      for (let i = 0; i < weights.length; i++) remaining += weights[i]; // undo rounding drift
    }
  }
  if (picked.length < Math.min(k, values.length)) {
    const rest = topIndices(
      Float64Array.from(values as ArrayLike<number>, (v, i) => (taken.has(i) ? -Infinity : v)),
      values.length,
    ).filter((i) => !taken.has(i));
    picked.push(...rest.slice(0, Math.min(k, values.length) - picked.length));
  }
  return picked;
}
