/**
 * Which layers attend globally and which through a sliding window. HF names the kinds in a
 * `layer_types` list (newer configs) or implies them by a rule (Gemma 3's sliding_window_pattern,
 * Qwen's use_sliding_window + max_window_layers, Mistral's all-layers window).
 */
import { LoomError } from "../errors.js";

export type AttentionLayerType = "full_attention" | "sliding_attention";

/** config.json's explicit `layer_types`, checked, or `rule(layer)` for each layer when absent. */
export function layerTypesFromHF(
  value: unknown, numLayers: number, origin: string, rule: (layer: number) => AttentionLayerType,
): AttentionLayerType[] {
  if (value === undefined || value === null) return Array.from({ length: numLayers }, (_, l) => rule(l));
  const ok = Array.isArray(value) && value.length === numLayers
    && value.every((t) => t === "full_attention" || t === "sliding_attention");
  if (!ok) {
    throw new LoomError(`${origin}: "layer_types" must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers`);
  }
  return value as AttentionLayerType[];
}

/** Gemma's rule: with pattern p, every p-th layer (1-based) is global, the rest slide (p = 1: all global). */
export function patternLayerTypes(numLayers: number, pattern: number): AttentionLayerType[] {
  return Array.from({ length: numLayers }, (_, l) => ((l + 1) % pattern === 0 ? "full_attention" : "sliding_attention"));
}

/** Each layer's window (undefined = global) for a cache or a reference. */
export function layerWindows(types: readonly AttentionLayerType[], window: number | undefined): (number | undefined)[] {
  return types.map((t) => (t === "sliding_attention" ? window : undefined));
}
