import { LoomError } from "../errors.js";
import type { RawTensor } from "../tensor/tensor.js";
import type { MetaValue, WeightSource } from "./source.js";

/** A WeightSource over tensors already in memory (views into file buffers). */
export function tensorTable(
  origin: string,
  metadata: ReadonlyMap<string, MetaValue>,
  tensors: ReadonlyMap<string, RawTensor>,
): WeightSource {
  return {
    origin,
    metadata,
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    get(name) {
      const tensor = tensors.get(name);
      if (!tensor) throw missingTensorError(origin, name, [...tensors.keys()]);
      return tensor;
    },
    close() {},
  };
}

export function missingTensorError(origin: string, name: string, available: readonly string[]): LoomError {
  const similar = similarNames(name, available, 3);
  const hint = similar.length > 0 ? `; similar names: ${similar.map((s) => `"${s}"`).join(", ")}` : "";
  return new LoomError(`${origin}: no tensor named "${name}" (${available.length} tensors)${hint}`);
}

/** The `count` names closest to `name` by edit distance. */
export function similarNames(name: string, available: readonly string[], count: number): string[] {
  return available
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, count)
    .map((scored) => scored.candidate);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j] + 1, current[j - 1] + 1));
    }
    previous = current;
  }
  return previous[b.length];
}
