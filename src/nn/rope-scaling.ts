/**
 * RoPE context extension: the inverse frequencies θ_i (position p rotates pair i by p·θ_i) and the
 * attention-magnitude factor for each scaling scheme, read from HF `rope_scaling` (or
 * `rope_parameters`) and from GGUF `{arch}.rope.scaling.*` keys.
 *
 * Base frequencies: θ_i = base^(−2i/rotDim), i < rotDim/2.
 *
 *  - linear   θ_i / factor                       (positions divided by factor)
 *  - dynamic  base' = base · (factor·L/Lmax − (factor − 1))^(rotDim/(rotDim−2)) once the sequence
 *             length L exceeds max_position_embeddings (HF "dynamic"; llama.cpp has no such mode)
 *  - yarn     per pair, a ramp between θ_i / factor (long wavelengths) and θ_i (short ones), and
 *             cos/sin multiplied by the attention factor (0.1·ln(factor) + 1 by default)
 *  - llama3   long wavelengths / factor, short ones unchanged, a smooth blend between
 *  - longrope θ_i / ext_i with per-pair factors (short below the original length, long above)
 *
 * The attention factor multiplies cos and sin (HF's `attention_scaling`, llama.cpp's mscale), so it
 * scales both q and k. When every dimension rotates (rotDim = headDim), multiplying the attention
 * scale by attentionFactor² gives the same scores.
 *
 * The YaRN `factor` trap: transformers 4.45–4.5x replaced rope_scaling.factor by
 * max_position_embeddings / original_max_position_embeddings whenever the latter was present;
 * current transformers uses the explicit factor (and only warns when the two disagree), as do
 * llama.cpp's converter (GGUF `rope.scaling.factor`) and vLLM. Loom follows the checkpoint's own
 * numbers: the explicit `factor`; the ratio only when `factor` is absent.
 */
import { LoomError } from "../errors.js";

export type RopeScaling =
  | { type: "none"; attentionFactor?: number }
  | { type: "linear"; factor: number; attentionFactor?: number }
  | { type: "dynamic"; factor: number; maxPositions: number }
  | YarnScaling
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  | LongRopeScaling;

export interface YarnScaling {
  type: "yarn";
  factor: number;
  /** Context length before extension; the correction range is measured against it. */
  originalMaxPositions: number;
  /** Rotation counts bounding the ramp: pairs turning more than betaFast times keep θ_i, fewer than betaSlow get θ_i/factor. */
  betaFast: number;
  betaSlow: number;
  /** Round the correction range outward to whole dims (HF `truncate`, default true; llama.cpp always does). */
  truncate: boolean;
  /** Weight of the extrapolated (unscaled) frequencies in the ramp: llama.cpp's ext_factor, 1 for YaRN. */
  extFactor: number;
  /** Multiplies cos and sin. */
  attentionFactor: number;
}

export interface LongRopeScaling {
  type: "longrope";
  shortFactor: number[];
  longFactor: number[];
  originalMaxPositions: number;
  attentionFactor: number;
}

export interface RopeFrequencies {
  /** θ_i for each rotated pair: position p rotates pair i by p·invFreq[i]. */
  invFreq: Float64Array;
  /** Multiplies cos and sin (1 unless YaRN / LongRoPE). */
  attentionFactor: number;
}

/** YaRN's magnitude correction 0.1·mscale·ln(scale) + 1 (1 when not extending). */
export function yarnGetMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** Unscaled θ_i = base^(−2i/rotDim). */
export function baseInvFreq(rotDim: number, base: number): Float64Array {
  const inv = new Float64Array(rotDim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / Math.pow(base, (2 * i) / rotDim);
  return inv;
}

/**
 * Frequencies and attention factor for `rotDim` rotated dims of base `base`, in double precision
 * (HF and llama.cpp round θ_i to f32). `seqLen`, the sequence length the frequencies will serve
 * (HF: the largest position of the forward call + 1), matters only for "dynamic" and "longrope";
 * without it they take HF's load-time values (max_position_embeddings; the short factors).
 */
export function ropeFrequencies(rotDim: number, base: number, scaling: RopeScaling, seqLen?: number): RopeFrequencies {
  if (!Number.isInteger(rotDim) || rotDim < 2 || rotDim % 2 !== 0) throw new LoomError(`RoPE dimension must be a positive even integer, got ${rotDim}`);
  if (!(base > 1)) throw new LoomError(`RoPE base must be greater than 1, got ${base}`);
  switch (scaling.type) {
    case "none":
      return { invFreq: baseInvFreq(rotDim, base), attentionFactor: scaling.attentionFactor ?? 1 };
    case "linear":
      return { invFreq: baseInvFreq(rotDim, base).map((f) => f / scaling.factor), attentionFactor: scaling.attentionFactor ?? 1 };
    case "dynamic": {
      const len = Math.max(seqLen ?? scaling.maxPositions, scaling.maxPositions);
      const grown = base * Math.pow((scaling.factor * len) / scaling.maxPositions - (scaling.factor - 1), rotDim / (rotDim - 2));
      return { invFreq: baseInvFreq(rotDim, grown), attentionFactor: 1 };
    }
    case "yarn":
      return { invFreq: yarnInvFreq(rotDim, base, scaling), attentionFactor: scaling.attentionFactor };
    case "llama3":
      return { invFreq: llama3InvFreq(rotDim, base, scaling), attentionFactor: 1 };
    case "longrope": {
      const long = seqLen !== undefined && seqLen > scaling.originalMaxPositions;
      const ext = long ? scaling.longFactor : scaling.shortFactor;
      if (ext.length !== rotDim / 2) {
        throw new LoomError(`longrope ${long ? "long" : "short"}_factor has ${ext.length} entries, RoPE has ${rotDim / 2} pairs`);
      }
      return { invFreq: baseInvFreq(rotDim, base).map((f, i) => f / ext[i]), attentionFactor: scaling.attentionFactor };
    }
  }
}

/** Pair index at which a wavelength completes `rotations` turns over `context` positions (YaRN's correction dim). */
function yarnCorrectionDim(rotations: number, rotDim: number, base: number, context: number): number {
  return (rotDim * Math.log(context / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

function yarnInvFreq(rotDim: number, base: number, s: YarnScaling): Float64Array {
  let low = yarnCorrectionDim(s.betaFast, rotDim, base, s.originalMaxPositions);
  let high = yarnCorrectionDim(s.betaSlow, rotDim, base, s.originalMaxPositions);
  if (s.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, rotDim - 1);
  const span = high === low ? 0.001 : high - low; // HF nudges an empty range; so does llama.cpp
  const inv = baseInvFreq(rotDim, base);
  for (let i = 0; i < inv.length; i++) {
    // ramp 0 below `low` (fast pairs), 1 above `high` (slow pairs). Fast pairs keep θ_i
    // (extrapolation), slow ones get θ_i / factor (interpolation); extFactor scales the
    // extrapolated share as llama.cpp's rope_yarn does (0 = plain linear scaling).
    const ramp = Math.min(1, Math.max(0, (i - low) / span));
    const extrapolated = (1 - ramp) * s.extFactor;
    inv[i] = (inv[i] / s.factor) * (1 - extrapolated) + inv[i] * extrapolated;
  }
  return inv;
}

function llama3InvFreq(rotDim: number, base: number, s: Extract<RopeScaling, { type: "llama3" }>): Float64Array {
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  const inv = baseInvFreq(rotDim, base);
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < highFreqWavelen) continue; // high frequencies unchanged
    if (wavelen > lowFreqWavelen) {
      inv[i] /= s.factor;
      continue;
    }
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
  }
  return inv;
}

// ---------------------------------------------------------------------------------------------
// Reading configurations

type Lookup = (key: string) => unknown;

function numberAt(get: Lookup, key: string, where: string): number | undefined {
  const value = get(key);
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) throw new LoomError(`${where}: "${key}" must be a number, got ${JSON.stringify(String(value))}`);
  return n;
}

function requiredNumber(get: Lookup, key: string, where: string): number {
  const n = numberAt(get, key, where);
  if (n === undefined) throw new LoomError(`${where}: missing "${key}"`);
  return n;
}

function factorAtLeastOne(factor: number, where: string): number {
  if (!(factor >= 1)) throw new LoomError(`${where}: RoPE scaling factor must be at least 1, got ${factor}`);
  return factor;
}

function numberList(value: unknown, key: string, where: string): number[] {
  if (!Array.isArray(value) || !value.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new LoomError(`${where}: "${key}" must be a list of numbers`);
  }
  return value as number[];
}

/**
 * From an HF config.json: its `rope_scaling` (transformers < 5) or `rope_parameters` (≥ 5) object,
 * whose kind is under "rope_type" or the older "type". transformers 5 may nest one object per
 * layer type ({"full_attention": {...}, "sliding_attention": {...}}); `layerType` picks one.
 * `origin` names the file for errors.
 */
export function ropeScalingFromHF(config: Record<string, unknown>, origin: string, layerType = "full_attention"): RopeScaling {
  let raw = config.rope_scaling ?? config.rope_parameters;
  if (raw === undefined || raw === null) return { type: "none" };
  const where = `${origin} (rope_scaling)`;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new LoomError(`${where} must be an object`);
  const perLayerType = (raw as Record<string, unknown>)[layerType];
  if (typeof perLayerType === "object" && perLayerType !== null && !Array.isArray(perLayerType)) raw = perLayerType;
  else if (perLayerType === null) return { type: "none" };
  const params = raw as Record<string, unknown>;
  const get: Lookup = (key) => params[key];
  const kind = params.rope_type ?? params.type ?? "default";
  const topLevel: Lookup = (key) => config[key];
  const maxPositions = numberAt(topLevel, "max_position_embeddings", origin);
  // Phi-3 keeps the pre-extension length at the top level; HF gives it priority.
  const originalMax = numberAt(topLevel, "original_max_position_embeddings", origin)
    ?? numberAt(get, "original_max_position_embeddings", where) ?? maxPositions;
  const needOriginal = (): number => {
    if (originalMax === undefined) throw new LoomError(`${where}: missing "original_max_position_embeddings" (and max_position_embeddings)`);
    return originalMax;
  };

  switch (kind) {
    case "default":
      return { type: "none" };
    case "linear":
      return { type: "linear", factor: factorAtLeastOne(requiredNumber(get, "factor", where), where) };
    case "dynamic":
      if (maxPositions === undefined) throw new LoomError(`${origin}: dynamic RoPE scaling needs max_position_embeddings`);
      return { type: "dynamic", factor: factorAtLeastOne(requiredNumber(get, "factor", where), where), maxPositions };
    case "llama3":
      return {
        type: "llama3",
        factor: factorAtLeastOne(requiredNumber(get, "factor", where), where),
        lowFreqFactor: requiredNumber(get, "low_freq_factor", where),
        highFreqFactor: requiredNumber(get, "high_freq_factor", where),
        originalMaxPositions: needOriginal(),
      };
    case "yarn": {
      const original = needOriginal();
      // The checkpoint's own factor; the length ratio only when it gives none (see the file comment).
      const explicit = numberAt(get, "factor", where);
      const factor = factorAtLeastOne(explicit ?? (maxPositions ?? original) / original, where);
      const mscale = numberAt(get, "mscale", where);
      const mscaleAllDim = numberAt(get, "mscale_all_dim", where);
      const attentionFactor = numberAt(get, "attention_factor", where)
        ?? (mscale && mscaleAllDim ? yarnGetMscale(factor, mscale) / yarnGetMscale(factor, mscaleAllDim) : yarnGetMscale(factor));
      const truncate = params.truncate ?? true;
      if (typeof truncate !== "boolean") throw new LoomError(`${where}: "truncate" must be true or false`);
      return {
        type: "yarn",
        factor,
        originalMaxPositions: original,
        // HF: `get("beta_fast") or 32`, so 0 also means the default.
        betaFast: numberAt(get, "beta_fast", where) || 32,
        betaSlow: numberAt(get, "beta_slow", where) || 1,
        truncate,
        extFactor: 1,
        attentionFactor,
      };
    }
    case "longrope": {
      const original = needOriginal();
      const shortFactor = numberList(params.short_factor, "short_factor", where);
      const longFactor = numberList(params.long_factor, "long_factor", where);
      const factor = numberAt(get, "factor", where) ?? (maxPositions ?? original) / original;
      const attentionFactor = numberAt(get, "attention_factor", where)
        ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
      return { type: "longrope", shortFactor, longFactor, originalMaxPositions: original, attentionFactor };
    }
    default:
      throw new LoomError(`${where}: RoPE scaling type "${String(kind)}" is not supported (linear, dynamic, yarn, llama3, longrope)`);
  }
}

/**
 * From GGUF metadata, with llama.cpp's semantics: `{arch}.rope.scaling.type` defaults to "linear"
 * but a missing (or zero) factor means no scaling; "yarn" reads original_context_length (default
 * `{arch}.context_length`), yarn_beta_fast/slow (32/1), yarn_ext_factor (1), and its magnitude is
 * llama.cpp's net cos/sin factor: get_mscale(factor) — or get_mscale(factor)/get_mscale(factor,
 * yarn_log_multiplier) when that key is set — times `rope.scaling.attn_factor` (default 1).
 * llama3 scaling arrives as a `rope_freqs` tensor instead (see kernels/rope.ts).
 */
export function ropeScalingFromGGUF(metadata: ReadonlyMap<string, unknown>, arch: string, origin: string): RopeScaling {
  const get: Lookup = (key) => metadata.get(`${arch}.${key}`);
  const typeValue = get("rope.scaling.type") ?? "linear";
  if (typeof typeValue !== "string") throw new LoomError(`${origin}: "${arch}.rope.scaling.type" must be a string`);
  const factorValue = numberAt(get, "rope.scaling.factor", origin) ?? numberAt(get, "rope.scale_linear", origin) ?? 0;
  const factor = factorValue === 0 ? 1 : factorValue;
  switch (typeValue) {
    // llama.cpp multiplies cos/sin by rope.scaling.attn_factor whatever the type (Phi-3 files set it).
    case "none":
      return { type: "none", attentionFactor: numberAt(get, "rope.scaling.attn_factor", origin) };
    case "linear": {
      const attentionFactor = numberAt(get, "rope.scaling.attn_factor", origin);
      return factor === 1 ? { type: "none", attentionFactor } : { type: "linear", factor, attentionFactor };
    }
    case "yarn": {
      const logMul = numberAt(get, "rope.scaling.yarn_log_multiplier", origin) ?? 0;
      const extFactor = numberAt(get, "rope.scaling.yarn_ext_factor", origin) ?? 1;
      // llama.cpp applies its YaRN magnitude only while ext_factor ≠ 0.
      const magnitude = extFactor === 0 ? 1
        : logMul !== 0 ? yarnGetMscale(factor) / yarnGetMscale(factor, logMul) : yarnGetMscale(factor);
      return {
        type: "yarn",
        factor,
        originalMaxPositions: numberAt(get, "rope.scaling.original_context_length", origin) ?? requiredNumber(get, "context_length", origin),
        betaFast: numberAt(get, "rope.scaling.yarn_beta_fast", origin) ?? 32,
        betaSlow: numberAt(get, "rope.scaling.yarn_beta_slow", origin) ?? 1,
        truncate: true,
        extFactor,
        attentionFactor: magnitude * (numberAt(get, "rope.scaling.attn_factor", origin) ?? 1),
      };
    }
    default:
      throw new LoomError(`${origin}: "${arch}.rope.scaling.type" = "${typeValue}" is not supported (none, linear, yarn)`);
  }
}
