import { test } from "node:test";
import assert from "node:assert/strict";
import {
  baseInvFreq, ropeFrequencies, ropeScalingFromGGUF, ropeScalingFromHF, yarnGetMscale, type RopeScaling, type YarnScaling,
} from "../../src/nn/rope-scaling.js";
import { llama3RopeFactors } from "../../src/kernels/rope.js";
import { LoomError } from "../../src/errors.js";
import { maxRelDiff } from "./helpers.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------------------------------------
// Slow twins, written from the formulas as HF's modeling_rope_utils and llama.cpp's ggml state them.

/** HF: inv_freq = 1 / base^(arange(0, dim, 2) / dim). */
function hfDefault(dim: number, base: number): number[] {
  return range(dim / 2).map((i) => 1 / base ** ((2 * i) / dim));
}

/** HF _compute_yarn_parameters, step by step (extrapolation/interpolation blended by 1 − ramp). */
function hfYarn(dim: number, base: number, factor: number, original: number, betaFast: number, betaSlow: number, truncate: boolean): number[] {
  const correctionDim = (rot: number) => (dim * Math.log(original / (rot * 2 * Math.PI))) / (2 * Math.log(base));
  let low = correctionDim(betaFast), high = correctionDim(betaSlow);
  if (truncate) { low = Math.floor(low); high = Math.ceil(high); }
  low = Math.max(low, 0); high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  const posFreqs = range(dim / 2).map((i) => base ** ((2 * i) / dim));
  return posFreqs.map((pf, i) => {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolationFactor = 1 - ramp;
    return (1 / (factor * pf)) * (1 - extrapolationFactor) + (1 / pf) * extrapolationFactor;
  });
}

/**
 * llama.cpp: the angle ggml's rope_yarn gives pair i0/2 at position p, and the net cos/sin
 * magnitude (llama-context's yarn_attn_factor, times the kernel's own 1 + 0.1·ln(1/freq_scale)).
 */
function llamaCppYarnAngle(p: number, i0: number, nDims: number, base: number, freqScale: number, nCtxOrig: number,
  betaFast: number, betaSlow: number, extFactor: number): number {
  const corrDim = (nRot: number) => (nDims * Math.log(nCtxOrig / (nRot * 2 * Math.PI))) / (2 * Math.log(base));
  const low = Math.max(0, Math.floor(corrDim(betaFast)));
  const high = Math.min(nDims - 1, Math.ceil(corrDim(betaSlow)));
  const thetaExtrap = p * base ** (-i0 / nDims);
  const thetaInterp = freqScale * thetaExtrap;
  const y = (i0 / 2 - low) / Math.max(0.001, high - low);
  const rampMix = (1 - Math.min(1, Math.max(0, y))) * extFactor;
  return thetaInterp * (1 - rampMix) + thetaExtrap * rampMix;
}
function llamaCppYarnMagnitude(factor: number, ropeAttnFactor: number, logMul = 0): number {
  const getMscale = (scale: number, m: number) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const ctxAttnFactor = (logMul !== 0 ? getMscale(factor, 1) / getMscale(factor, logMul) : getMscale(factor, 1))
    / (1 + 0.1 * Math.log(factor)) * ropeAttnFactor;
  return ctxAttnFactor * (1 + 0.1 * Math.log(factor)); // ggml's rope_yarn: mscale *= 1 + 0.1·ln(1/freq_scale)
}

/** HF _compute_llama3_parameters with its torch.where masks. */
function hfLlama3(dim: number, base: number, factor: number, low: number, high: number, old: number): number[] {
  return hfDefault(dim, base).map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > old / low ? f / factor : f;
    const smooth = (old / wavelen - low) / (high - low);
    const isMedium = !(wavelen < old / high) && !(wavelen > old / low);
    return isMedium ? (1 - smooth) * scaled / factor + smooth * scaled : scaled;
  });
}

/** HF _compute_dynamic_ntk_parameters at a sequence length. */
function hfDynamic(dim: number, base: number, factor: number, maxPos: number, seqLen: number): number[] {
  const len = Math.max(seqLen, maxPos);
  const grown = base * ((factor * len) / maxPos - (factor - 1)) ** (dim / (dim - 2));
  return hfDefault(dim, grown);
}

const close = (got: Float64Array, expected: number[], label: string) => {
  const d = maxRelDiff(got, expected);
  assert.equal(got.length, expected.length, label);
  assert.ok(d < 1e-12, `${label}: max relative diff ${d}`);
};

// ---------------------------------------------------------------------------------------------

test("none and linear: base frequencies, and linear divides every angle (position) by factor", () => {
  for (const [dim, base] of [[64, 10000], [128, 500000], [32, 1e6]]) {
    close(ropeFrequencies(dim, base, { type: "none" }).invFreq, hfDefault(dim, base), `none ${dim}`);
    const lin = ropeFrequencies(dim, base, { type: "linear", factor: 4 });
    close(lin.invFreq, hfDefault(dim, base).map((f) => f / 4), `linear ${dim}`);
    assert.equal(lin.attentionFactor, 1);
    // Position 4p under factor 4 turns exactly like position p unscaled.
    const plain = baseInvFreq(dim, base);
    for (let i = 0; i < dim / 2; i++) assert.ok(Math.abs(400 * lin.invFreq[i] - 100 * plain[i]) <= 1e-12 * 100 * plain[i]);
  }
});

test("dynamic NTK: unchanged up to max_position_embeddings, HF's rescaled base beyond", () => {
  const s: RopeScaling = { type: "dynamic", factor: 2, maxPositions: 2048 };
  close(ropeFrequencies(64, 10000, s).invFreq, hfDefault(64, 10000), "at init");
  close(ropeFrequencies(64, 10000, s, 1000).invFreq, hfDefault(64, 10000), "short sequence");
  for (const seqLen of [2049, 4096, 10000]) {
    const got: Float64Array = ropeFrequencies(64, 10000, s, seqLen).invFreq;
    close(got, hfDynamic(64, 10000, 2, 2048, seqLen), `seqLen ${seqLen}`);
    assert.equal(got[0], 1, "pair 0 never rotates slower");
    assert.ok(got[31] < hfDefault(64, 10000)[31], "slow pairs slow down further");
  }
});

test("llama3: HF's formula; high frequencies unchanged, low ones divided by factor, a blend between", () => {
  const s = { type: "llama3" as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  for (const [dim, base] of [[128, 500000], [64, 10000]]) {
    const got = ropeFrequencies(dim, base, s).invFreq;
    close(got, hfLlama3(dim, base, 8, 1, 4, 8192), `llama3 ${dim}`);
    // A peer in this repo: kernels/rope.ts gives divisors for the same scaling.
    const divisors = llama3RopeFactors(baseInvFreq(dim, base), s);
    close(got, Array.from(baseInvFreq(dim, base), (f, i) => f / divisors[i]), `llama3 vs kernels/rope.ts ${dim}`);
    const plain = baseInvFreq(dim, base);
    let unchanged = 0, divided = 0;
    for (let i = 0; i < dim / 2; i++) {
      const wavelen = (2 * Math.PI) / plain[i];
      if (wavelen < 8192 / 4) { assert.equal(got[i], plain[i]); unchanged++; }
      else if (wavelen > 8192 / 1) { assert.ok(Math.abs(got[i] - plain[i] / 8) < 1e-15 * plain[i]); divided++; }
      else assert.ok(got[i] <= plain[i] && got[i] >= plain[i] / 8);
    }
    assert.ok(unchanged > 0 && divided > 0, `both regimes present (${unchanged} unchanged, ${divided} divided)`);
  }
});

test("yarn: equals HF's formula and llama.cpp's rope_yarn angles; regimes at both ends", () => {
  const cases: Array<[number, number, number, number, number, number]> = [
    // dim, base, factor, original, betaFast, betaSlow
    [128, 1e6, 4, 32768, 32, 1], // Qwen3-style
    [64, 10000, 16, 4096, 32, 1],
    [64, 150000, 32, 4096, 16, 2],
    [8, 10000, 2, 64, 32, 1], // tiny: low and high collapse
  ];
  for (const [dim, base, factor, original, betaFast, betaSlow] of cases) {
    const s: YarnScaling = { type: "yarn", factor, originalMaxPositions: original, betaFast, betaSlow, truncate: true, extFactor: 1, attentionFactor: yarnGetMscale(factor) };
    const { invFreq, attentionFactor } = ropeFrequencies(dim, base, s);
    close(invFreq, hfYarn(dim, base, factor, original, betaFast, betaSlow, true), `HF yarn ${dim}/${factor}`);
    assert.equal(attentionFactor, 0.1 * Math.log(factor) + 1);
    for (const p of [1, 17, 5000]) {
      for (let i0 = 0; i0 < dim; i0 += 2) {
        const angle = llamaCppYarnAngle(p, i0, dim, base, 1 / factor, original, betaFast, betaSlow, 1);
        assert.ok(Math.abs(p * invFreq[i0 / 2] - angle) <= 1e-12 * Math.max(1, angle), `llama.cpp angle p ${p} i0 ${i0}`);
      }
    }
    assert.ok(Math.abs(llamaCppYarnMagnitude(factor, 1) - attentionFactor) < 1e-12, "llama.cpp's net magnitude");
    const plain = baseInvFreq(dim, base);
    assert.equal(invFreq[0], plain[0], "the fastest pair keeps its frequency");
    assert.ok(Math.abs(invFreq[dim / 2 - 1] - plain[dim / 2 - 1] / factor) < 1e-15, "the slowest pair is interpolated");
  }
  // No truncation (gpt-oss's `truncate: false`) and a factor of 1 (nothing to extend).
  const free: YarnScaling = { type: "yarn", factor: 32, originalMaxPositions: 4096, betaFast: 32, betaSlow: 1, truncate: false, extFactor: 1, attentionFactor: 1 };
  close(ropeFrequencies(64, 150000, free).invFreq, hfYarn(64, 150000, 32, 4096, 32, 1, false), "truncate false");
  close(ropeFrequencies(64, 10000, { ...free, factor: 1 }).invFreq, hfDefault(64, 10000), "factor 1");
  // llama.cpp's ext_factor: 0 is plain linear interpolation, ½ half way.
  for (const ext of [0, 0.5]) {
    const got = ropeFrequencies(64, 10000, { ...free, truncate: true, extFactor: ext }).invFreq;
    for (let i0 = 0; i0 < 64; i0 += 2) {
      const angle = llamaCppYarnAngle(3, i0, 64, 10000, 1 / 32, 4096, 32, 1, ext);
      assert.ok(Math.abs(3 * got[i0 / 2] - angle) <= 1e-12 * Math.max(1, angle), `ext ${ext} i0 ${i0}`);
    }
  }
});

test("HF rope_scaling: 'type' and 'rope_type' keys, and the YaRN factor convention", () => {
  const origin = "config.json";
  assert.deepEqual(ropeScalingFromHF({ rope_scaling: { type: "linear", factor: 2 } }, origin), { type: "linear", factor: 2 });
  assert.deepEqual(ropeScalingFromHF({ rope_scaling: { rope_type: "linear", factor: 2 } }, origin), { type: "linear", factor: 2 });
  assert.deepEqual(ropeScalingFromHF({}, origin), { type: "none" });
  assert.deepEqual(ropeScalingFromHF({ rope_scaling: { rope_type: "default" } }, origin), { type: "none" });
  assert.deepEqual(ropeScalingFromHF({ rope_scaling: { type: "dynamic", factor: 2 }, max_position_embeddings: 4096 }, origin),
    { type: "dynamic", factor: 2, maxPositions: 4096 });

  // Qwen3-style: max_position_embeddings 40960 with {factor 4, original 32768}. The explicit factor
  // wins (transformers 4.45–4.5x would have used 40960/32768 = 1.25).
  const qwen = { max_position_embeddings: 40960, rope_scaling: { rope_type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 } };
  const yarn = ropeScalingFromHF(qwen, origin) as YarnScaling;
  assert.equal(yarn.factor, 4);
  assert.equal(yarn.originalMaxPositions, 32768);
  assert.equal(yarn.attentionFactor, 0.1 * Math.log(4) + 1);
  assert.deepEqual([yarn.betaFast, yarn.betaSlow, yarn.truncate, yarn.extFactor], [32, 1, true, 1]);
  // Without an explicit factor, the ratio of the two lengths.
  const implicit = ropeScalingFromHF({ max_position_embeddings: 40960, rope_scaling: { type: "yarn", original_max_position_embeddings: 32768 } }, origin) as YarnScaling;
  assert.equal(implicit.factor, 1.25);
  // Missing original: max_position_embeddings (HF's standardization).
  assert.equal((ropeScalingFromHF({ max_position_embeddings: 2048, rope_scaling: { type: "yarn", factor: 8 } }, origin) as YarnScaling).originalMaxPositions, 2048);

  // DeepSeek-style mscale / mscale_all_dim, and an explicit attention_factor.
  const ds = (extra: object) => ropeScalingFromHF({ max_position_embeddings: 163840,
    rope_scaling: { type: "yarn", factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, ...extra } }, origin) as YarnScaling;
  assert.equal(ds({ mscale: 1, mscale_all_dim: 1 }).attentionFactor, 1);
  assert.equal(ds({ mscale: 0.707, mscale_all_dim: 1 }).attentionFactor, (0.1 * 0.707 * Math.log(40) + 1) / (0.1 * Math.log(40) + 1));
  assert.equal(ds({ attention_factor: 1.5, mscale: 0.707, mscale_all_dim: 1 }).attentionFactor, 1.5);
  assert.equal(ds({ mscale: 0.707 }).attentionFactor, 0.1 * Math.log(40) + 1, "mscale alone is ignored, as in HF");
  assert.equal(ds({ truncate: false }).truncate, false);

  const llama3 = ropeScalingFromHF({ rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, origin);
  assert.deepEqual(llama3, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });

  // transformers 5: rope_parameters, possibly one object per layer type.
  const v5 = { rope_parameters: { full_attention: { rope_type: "linear", factor: 8, rope_theta: 1e6 }, sliding_attention: { rope_type: "default", rope_theta: 1e4 } } };
  assert.deepEqual(ropeScalingFromHF(v5, origin), { type: "linear", factor: 8 });
  assert.deepEqual(ropeScalingFromHF(v5, origin, "sliding_attention"), { type: "none" });
  assert.deepEqual(ropeScalingFromHF({ rope_parameters: { rope_type: "linear", factor: 3, rope_theta: 1e4 } }, origin), { type: "linear", factor: 3 });

  assert.throws(() => ropeScalingFromHF({ rope_scaling: { type: "su" } }, origin), (e: unknown) => e instanceof LoomError && /"su"/.test(e.message));
  assert.throws(() => ropeScalingFromHF({ rope_scaling: { type: "linear" } }, origin), /missing "factor"/);
  assert.throws(() => ropeScalingFromHF({ rope_scaling: { type: "linear", factor: "2" } }, origin), /must be a number/);
  assert.throws(() => ropeScalingFromHF({ rope_scaling: { type: "linear", factor: 0.5 } }, origin), /at least 1/);
  assert.throws(() => ropeScalingFromHF({ rope_scaling: { type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }, origin), /original_max_position_embeddings/);
});

test("longrope (Phi-3): short factors up to the original length, long ones beyond, HF's attention factor", () => {
  const dim = 8;
  const config = {
    max_position_embeddings: 131072, original_max_position_embeddings: 4096,
    rope_scaling: { type: "longrope", short_factor: [1, 1.1, 1.2, 1.3], long_factor: [1, 2, 4, 8] },
  };
  const s = ropeScalingFromHF(config, "phi3/config.json");
  const expectedAttention = Math.sqrt(1 + Math.log(131072 / 4096) / Math.log(4096));
  const short = ropeFrequencies(dim, 10000, s, 4096);
  const long = ropeFrequencies(dim, 10000, s, 4097);
  close(short.invFreq, hfDefault(dim, 10000).map((f, i) => f / [1, 1.1, 1.2, 1.3][i]), "short");
  close(long.invFreq, hfDefault(dim, 10000).map((f, i) => f / [1, 2, 4, 8][i]), "long");
  assert.ok(Math.abs(short.attentionFactor - expectedAttention) < 1e-15);
  assert.throws(() => ropeFrequencies(16, 10000, s), /4 entries/);
});

test("GGUF rope.scaling keys with llama.cpp's defaults and magnitude", () => {
  const meta = (entries: Record<string, unknown>) => new Map(Object.entries(entries).map(([k, v]) => [`qwen3.${k}`, v]));
  assert.deepEqual(ropeScalingFromGGUF(meta({}), "qwen3", "m.gguf"), { type: "none", attentionFactor: undefined });
  assert.deepEqual(ropeScalingFromGGUF(meta({ "rope.scaling.factor": 4 }), "qwen3", "m.gguf"), { type: "linear", factor: 4, attentionFactor: undefined });
  assert.deepEqual(ropeScalingFromGGUF(meta({ "rope.scale_linear": 2 }), "qwen3", "m.gguf"), { type: "linear", factor: 2, attentionFactor: undefined });
  assert.deepEqual(ropeScalingFromGGUF(meta({ "rope.scaling.type": "none", "rope.scaling.factor": 4 }), "qwen3", "m.gguf"), { type: "none", attentionFactor: undefined });

  const yarn = ropeScalingFromGGUF(meta({
    "rope.scaling.type": "yarn", "rope.scaling.factor": 4, "rope.scaling.original_context_length": 32768n, "context_length": 131072,
  }), "qwen3", "m.gguf") as YarnScaling;
  assert.deepEqual(yarn, { type: "yarn", factor: 4, originalMaxPositions: 32768, betaFast: 32, betaSlow: 1, truncate: true, extFactor: 1, attentionFactor: llamaCppYarnMagnitude(4, 1) });

  // The HF and GGUF twins of one checkpoint give the same frequencies and magnitude.
  const hf = ropeScalingFromHF({ max_position_embeddings: 131072, rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 32768 } }, "config.json");
  const a = ropeFrequencies(128, 1e6, hf), b = ropeFrequencies(128, 1e6, yarn);
  assert.deepEqual(Array.from(a.invFreq), Array.from(b.invFreq));
  assert.equal(a.attentionFactor, b.attentionFactor);

  const tuned = ropeScalingFromGGUF(meta({
    "rope.scaling.type": "yarn", "rope.scaling.factor": 40, "context_length": 163840, "rope.scaling.attn_factor": 1.25,
    "rope.scaling.yarn_beta_fast": 16, "rope.scaling.yarn_beta_slow": 2, "rope.scaling.yarn_log_multiplier": 0.1,
  }), "qwen3", "m.gguf") as YarnScaling;
  assert.equal(tuned.originalMaxPositions, 163840, "original_context_length defaults to context_length");
  assert.deepEqual([tuned.betaFast, tuned.betaSlow], [16, 2]);
  assert.ok(Math.abs(tuned.attentionFactor - llamaCppYarnMagnitude(40, 1.25, 0.1)) < 1e-15);
  assert.equal((ropeScalingFromGGUF(meta({ "rope.scaling.type": "yarn", "rope.scaling.factor": 4, "context_length": 64, "rope.scaling.yarn_ext_factor": 0 }), "qwen3", "m.gguf") as YarnScaling).attentionFactor, 1);

  const phi = ropeScalingFromGGUF(meta({ "rope.scaling.attn_factor": 1.19 }), "qwen3", "m.gguf");
  assert.equal(ropeFrequencies(8, 10000, phi).attentionFactor, 1.19, "attn_factor scales cos/sin whatever the type");

  assert.throws(() => ropeScalingFromGGUF(meta({ "rope.scaling.type": "longrope" }), "qwen3", "m.gguf"), (e: unknown) => e instanceof LoomError && /longrope/.test(e.message));
  assert.throws(() => ropeScalingFromGGUF(meta({ "rope.scaling.type": "yarn", "rope.scaling.factor": 4 }), "qwen3", "m.gguf"), /context_length/);
  assert.throws(() => ropeFrequencies(7, 10000, { type: "none" }), LoomError);
  assert.throws(() => ropeFrequencies(8, 1, { type: "none" }), LoomError);
});
