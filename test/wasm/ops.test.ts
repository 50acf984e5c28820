// WasmOps (src/kernels/wasm/ops.ts) against the TypeScript kernels it replaces: element-wise ops,
// norms and flash attention. Bounds are in units of ε = 2⁻²⁴, f32's unit roundoff (one rounding
// moves a value by ≤ ε relative), and come from counting the f32 roundings each kernel performs;
// the TypeScript kernels work in f64 and round once, which counts as one more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LoomError } from "../../src/errors.js";
import { add, addBias, gelu, swiglu } from "../../src/kernels/elementwise.js";
import { layerNorm, rmsNorm } from "../../src/kernels/norms.js";
import { createFlashScratch, flashAttention, type FlashAttentionDims } from "../../src/kernels/flash-attention.js";
import { createWasmRuntime, WasmOps, type WasmRuntime } from "../../src/kernels/wasm/index.js";
import { activations, seeded } from "./random.js";
import { assertSameBits } from "./compare.js";

const EPS = 2 ** -24;

/** Runs body with a one-thread runtime and its ops, disposing the runtime after. */
function withOps(body: (ops: WasmOps, runtime: WasmRuntime) => void): void {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    body(new WasmOps(runtime), runtime);
  } finally {
    runtime.dispose();
  }
}

/** A copy of values in the runtime's shared memory. */
function shared(runtime: WasmRuntime, values: Float32Array): Float32Array {
  const view = runtime.allocateF32(values.length);
  view.set(values);
  return view;
}

/** Asserts |got − want| ≤ allowed(i) everywhere; returns the worst diff / allowed. */
function assertWithin(got: Float32Array, want: Float32Array, allowed: (i: number) => number, label: string): number {
  assert.equal(got.length, want.length, `${label}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    const limit = allowed(i);
    if (!(diff <= limit) && !Object.is(got[i], want[i])) {
      assert.fail(`${label}: value ${i} is ${got[i]}, reference ${want[i]} (diff ${diff}, allowed ${limit})`);
    }
    if (limit > 0) worst = Math.max(worst, diff / limit);
  }
  return worst;
}

/** Seeded activations, length not a multiple of 4, with edge values mixed in. */
function edgyActivations(random: () => number, count: number): Float32Array {
  const x = activations(random, count);
  const edges = [0, -0, 1e-30, -1e-30, 1e-7, -3e-5, 5, -5, 9, -9, 12, -12, 20, -20, 100, -100, 1e4, -1e4, 3e38, -3e38];
  edges.forEach((v, i) => { x[(i * 37) % count] = v; });
  return x;
}

// ---- the kernels' own exp and tanh ----------------------------------------------------------

/** Distance from want in f32 ulps at want's magnitude. */
function ulps(got: number, want: number): number {
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(want))), -126);
  return Math.abs(got - want) / 2 ** (exponent - 23);
}

test("exp is within 1 ulp over f32's normal range, underflows to 0 and overflows to ∞", () => {
  withOps((_, runtime) => {
    const exp = runtime.kernels.kernelExp;
    let worst = 0;
    // The polynomial's own error (3·10⁻⁹ relative) is 0.05 ulp; the rest is the f32 evaluation.
    for (let x = -87.3; x < 88.7; x += 0.00731) {
      const xf = Math.fround(x);
      worst = Math.max(worst, ulps(exp(xf), Math.exp(xf)));
    }
    assert.ok(worst <= 1, `worst ${worst} ulp`);
    assert.equal(exp(0), 1);
    assert.equal(exp(-Infinity), 0);
    assert.equal(exp(-200), 0);
    assert.equal(exp(Infinity), Infinity);
    assert.equal(exp(89), Infinity);
    assert.ok(Number.isNaN(exp(NaN)));
    // Gradual underflow: e^−100 is an f32 subnormal (a few ulps of 2⁻¹⁴⁹ off at most).
    assert.ok(Math.abs(exp(-100) - Math.exp(-100)) <= 4 * 2 ** -149);
  });
});

test("tanh is within 3 ulp, keeps its relative precision near 0 and is odd", () => {
  withOps((_, runtime) => {
    const tanh = runtime.kernels.kernelTanh;
    let worst = 0;
    // −(e^−2|y| − 1)/(2 + (e^−2|y| − 1)): ≤ 1 ulp from expm1 plus three roundings.
    for (let x = -12; x < 12; x += 0.000913) {
      const xf = Math.fround(x);
      if (xf !== 0) worst = Math.max(worst, ulps(tanh(xf), Math.tanh(xf)));
    }
    for (const xf of [1e-30, 1e-20, 1e-7, 3e-5, 1e-3].map(Math.fround)) {
      worst = Math.max(worst, ulps(tanh(xf), Math.tanh(xf)), ulps(tanh(-xf), Math.tanh(-xf)));
    }
    assert.ok(worst <= 3, `worst ${worst} ulp`);
    assert.ok(Object.is(tanh(0), 0) && Object.is(tanh(-0), -0));
    assert.equal(tanh(50), 1);
    assert.equal(tanh(-Infinity), -1);
  });
});

// ---- element-wise ---------------------------------------------------------------------------

/** gelu's tanh argument u = √(2/π)(x + 0.044715x³), exactly (f64). */
function geluArgument(x: number): number {
  return Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
}

/**
 * WASM gelu = x/(1 + e^θ), θ = −2u computed with four roundings (≤ 4ε relative, no cancellation:
 * both terms share x's sign), so e^θ is off by ≤ 4ε|θ| from θ plus 2ε (1 ulp) from exp itself;
 * 1 + e, the division and the TypeScript result's own rounding add ε each: (8|u| + 5)ε. The
 * TypeScript kernel's 1 + tanh(u) carries f64 error ~2⁻⁵³ absolute, times |x|/2; and where e^θ
 * overflows (x ≲ −10) the true value is below |x|·e^−88.7 < 2⁻¹²⁰.
 */
function geluAllowed(x: number, want: number): number {
  return (8 * Math.abs(geluArgument(x)) + 5) * EPS * Math.abs(want) + Math.abs(x) * 2 ** -53 + 2 ** -120;
}

test("gelu matches the TypeScript kernel within its f32 error bound, in place and with tails", () => {
  withOps((ops, runtime) => {
    const random = seeded(11);
    for (const len of [1, 3, 4, 1003, 3072]) {
      const x = edgyActivations(random, len);
      const want = new Float32Array(len);
      gelu(want, x, len);
      const xs = shared(runtime, x);
      const out = runtime.allocateF32(len);
      ops.gelu(out, xs, len);
      assertWithin(out, want, (i) => geluAllowed(x[i], want[i]), `gelu len ${len}`);
      ops.gelu(xs, xs, len); // in place
      assertSameBits(xs, out, `gelu in place, len ${len}`);
    }
  });
});

test("swiglu and geglu match the TypeScript kernels within their f32 error bounds", () => {
  withOps((ops, runtime) => {
    const random = seeded(12);
    const len = 2051;
    const gate = edgyActivations(random, len);
    const up = activations(random, len);
    const [g, u] = [shared(runtime, gate), shared(runtime, up)];
    const out = runtime.allocateF32(len);

    // silu: e^−g ≤ 1 ulp (2ε), then 1 + e, ÷, ·up and the reference's rounding ε each: 6ε. Where
    // e^−g overflows (g < −88.7) the true value is below |g·up|·2⁻¹²⁶.
    const wantSwiglu = new Float32Array(len);
    swiglu(wantSwiglu, gate, up, len);
    ops.swiglu(out, g, u, len);
    assertWithin(out, wantSwiglu, (i) => 6 * EPS * Math.abs(wantSwiglu[i]) + Math.abs(gate[i] * up[i]) * 2 ** -126, "swiglu");

    // geglu = f32(gelu(gate))·up in the JS ops: gelu's bound, one more rounding (ε) each side.
    const geluGate = new Float32Array(len);
    gelu(geluGate, gate, len);
    const wantGeglu = geluGate.map((v, i) => v * up[i]);
    ops.geglu(out, g, u, len);
    assertWithin(out, wantGeglu, (i) => (geluAllowed(gate[i], geluGate[i]) + 2 * EPS * Math.abs(geluGate[i])) * Math.abs(up[i]), "geglu");

    ops.swiglu(g, g, u, len); // out aliasing gate
    assertWithin(g, wantSwiglu, (i) => 6 * EPS * Math.abs(wantSwiglu[i]) + Math.abs(gate[i] * up[i]) * 2 ** -126, "swiglu in place");
  });
});

test("add and addBias are bit-identical to the TypeScript kernels", () => {
  withOps((ops, runtime) => {
    const random = seeded(13);
    const [n, dim] = [3, 771];
    const a = edgyActivations(random, n * dim);
    const b = activations(random, n * dim);
    const bias = activations(random, dim);
    const want = new Float32Array(n * dim);
    add(want, a, b, n * dim);
    const out = runtime.allocateF32(n * dim);
    ops.add(out, shared(runtime, a), shared(runtime, b), n * dim);
    assertSameBits(out, want, "add");
    addBias(want, bias, n, dim);
    ops.addBias(out, shared(runtime, bias), n, dim);
    assertSameBits(out, want, "addBias");
  });
});

// ---- norms ----------------------------------------------------------------------------------

/** Rows of activations, one of them far off zero (mean 1000, spread ~1): LayerNorm's hard case. */
function normRows(random: () => number, n: number, dim: number): Float32Array {
  const x = activations(random, n * dim);
  for (let i = 0; i < dim; i++) x[dim + i] += 1000;
  return x;
}

test("layerNorm matches the TypeScript kernel within 4ε of its terms, with and without bias", () => {
  withOps((ops, runtime) => {
    const random = seeded(14);
    for (const dim of [768, 771, 5]) {
      const n = 4;
      const eps = 1e-5;
      const x = normRows(random, n, dim);
      const weight = activations(random, dim);
      const bias = activations(random, dim);
      for (const b of [bias, undefined]) {
        const want = new Float32Array(n * dim);
        layerNorm(want, x, weight, b, n, dim, eps);
        const out = runtime.allocateF32(n * dim);
        ops.layerNorm(out, shared(runtime, x), shared(runtime, weight), b && shared(runtime, b), n, dim, eps);
        // Mean, variance and y = (x − mean)/σ are f64 (exact to ~10⁻¹⁵); then y → f32, ·weight,
        // +bias and the reference's rounding: ε of |y·w| or |y·w + b| each.
        const yw = exactNormTerms(x, weight, n, dim, eps, true);
        assertWithin(out, want, (i) => 4.01 * EPS * (yw[i] + (b ? Math.abs(b[i % dim]) : 0)) + 1e-40, `layerNorm dim ${dim} bias ${!!b}`);
      }
      const xs = shared(runtime, x);
      const copy = runtime.allocateF32(n * dim);
      ops.layerNorm(copy, xs, shared(runtime, weight), shared(runtime, bias), n, dim, eps);
      ops.layerNorm(xs, xs, shared(runtime, weight), shared(runtime, bias), n, dim, eps);
      assertSameBits(xs, copy, "layerNorm in place");
    }
  });
});

/** |y·weight| per value, with y the exactly normalized x (LayerNorm: centred; RMSNorm: not). */
function exactNormTerms(x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number, centre: boolean): Float64Array {
  const terms = new Float64Array(n * dim);
  for (let t = 0; t < n; t++) {
    const row = Array.from(x.subarray(t * dim, (t + 1) * dim));
    const mean = centre ? row.reduce((s, v) => s + v, 0) / dim : 0;
    const sigma = Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / dim + eps);
    row.forEach((v, i) => { terms[t * dim + i] = Math.abs(((v - mean) / sigma) * weight[i]); });
  }
  return terms;
}

test("rmsNorm matches the TypeScript kernel within 4ε relative", () => {
  withOps((ops, runtime) => {
    const random = seeded(15);
    for (const dim of [2048, 771, 3]) {
      const n = 3;
      const eps = 1e-6;
      const x = normRows(random, n, dim);
      const weight = activations(random, dim);
      const want = new Float32Array(n * dim);
      rmsNorm(want, x, weight, n, dim, eps);
      const out = runtime.allocateF32(n * dim);
      ops.rmsNorm(out, shared(runtime, x), shared(runtime, weight), n, dim, eps);
      // Σx² in f64; 1/rms → f32, x·inv, ·weight and the reference's rounding: ε each.
      const terms = exactNormTerms(x, weight, n, dim, eps, false);
      assertWithin(out, want, (i) => 4.01 * EPS * terms[i] + 1e-40, `rmsNorm dim ${dim}`);
    }
  });
});

// ---- attention ------------------------------------------------------------------------------

interface AttentionCase {
  name: string;
  dims: FlashAttentionDims;
  /** How peaked the scores are (multiplies q). */
  sharpness?: number;
}

/** q for the call and K/V rows for positions [0, startPos + nQ), laid out per dims.ringSlots. */
function attentionInputs(random: () => number, c: AttentionCase): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const d = c.dims;
  const kvDim = d.nKVHeads * d.headDim;
  const end = d.startPos + d.nQ;
  const rows = d.ringSlots === undefined ? end : Math.min(end, d.ringSlots);
  const q = activations(random, d.nQ * d.nHeads * d.headDim).map((v) => v * (c.sharpness ?? 1));
  const k = new Float32Array(rows * kvDim);
  const v = new Float32Array(rows * kvDim);
  // Positions written in order, so a ring holds the latest ringSlots of them.
  for (let p = 0; p < end; p++) {
    const row = d.ringSlots === undefined ? p : p % d.ringSlots;
    k.set(activations(random, kvDim), row * kvDim);
    v.set(activations(random, kvDim), row * kvDim);
  }
  return { q, k, v };
}

/**
 * Allowed |WASM − TypeScript| per output, from the exact (f64) softmax weights w_j and
 * M = Σ w_j|v_j|: each score's f32 dot has error ≤ (headDim/4 + 4)ε·scale·Σ|q·k| (four lanes
 * of headDim/4 terms, three lane adds, the scale), the soft-cap's tanh ≤ 4ε|s|, s − max ≤ ε|s − max|
 * and exp 2ε: a relative error e_j in p_j, which moves an output by ≤ 2·max e_j·M. The running
 * sums Σp and Σp·v over N keys (blocks of 64, eight keys per step, a rescale per block) add
 * ≤ (N/2 + 24)ε·M, and the reference's final rounding ε|out|.
 */
function attentionAllowed(q: Float32Array, k: Float32Array, v: Float32Array, d: FlashAttentionDims, want: Float32Array): Float64Array {
  const { nQ, startPos, nHeads, nKVHeads, headDim, scale, window, softCap, ringSlots } = d;
  const group = nHeads / nKVHeads;
  const [qRow, kvRow] = [nHeads * headDim, nKVHeads * headDim];
  const allowed = new Float64Array(nQ * qRow);
  for (let t = 0; t < nQ; t++) {
    const pos = startPos + t;
    const first = window === undefined ? 0 : Math.max(0, pos - window + 1);
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / group);
      const qo = t * qRow + h * headDim;
      const rows: number[] = [], scores: number[] = [], dotErrors: number[] = [];
      for (let j = first; j <= pos; j++) {
        const ko = (ringSlots === undefined ? j : j % ringSlots) * kvRow + g * headDim;
        let dot = 0, magnitude = 0;
        for (let i = 0; i < headDim; i++) {
          dot += q[qo + i] * k[ko + i];
          magnitude += Math.abs(q[qo + i] * k[ko + i]);
        }
        let s = dot * scale;
        if (softCap !== undefined) s = softCap * Math.tanh(s / softCap);
        rows.push(ko);
        scores.push(s);
        dotErrors.push((headDim / 4 + 4) * Math.abs(scale) * magnitude + (softCap === undefined ? 0 : 4 * Math.abs(s)));
      }
      const max = Math.max(...scores);
      const p = scores.map((s) => Math.exp(s - max));
      const total = p.reduce((a, b) => a + b, 0);
      const worstScore = Math.max(...scores.map((s, j) => dotErrors[j] + Math.abs(s - max) + 2));
      const n = scores.length;
      for (let i = 0; i < headDim; i++) {
        let m = 0;
        for (let j = 0; j < n; j++) m += (p[j] / total) * Math.abs(v[rows[j] + i]);
        const o = qo + i;
        allowed[o] = EPS * (m * (2 * worstScore + n / 2 + 24) + Math.abs(want[o]));
      }
    }
  }
  return allowed;
}

function tsAttention(q: Float32Array, k: Float32Array, v: Float32Array, d: FlashAttentionDims): Float32Array {
  const out = new Float32Array(d.nQ * d.nHeads * d.headDim);
  flashAttention(out, q, k, v, d, createFlashScratch(d.nHeads, d.nKVHeads, d.headDim));
  return out;
}

function wasmAttention(ops: WasmOps, runtime: WasmRuntime, q: Float32Array, k: Float32Array, v: Float32Array, d: FlashAttentionDims): Float32Array {
  const out = runtime.allocateF32(d.nQ * d.nHeads * d.headDim);
  ops.flashAttention(out, shared(runtime, q), shared(runtime, k), shared(runtime, v), d);
  return out;
}

const ATTENTION_CASES: AttentionCase[] = [
  { name: "MHA decode (GPT-2 heads)", dims: { nQ: 1, startPos: 200, nHeads: 12, nKVHeads: 12, headDim: 64, scale: 1 / 8 } },
  { name: "MHA prefill", dims: { nQ: 37, startPos: 0, nHeads: 4, nKVHeads: 4, headDim: 64, scale: 1 / 8 }, sharpness: 3 },
  { name: "GQA 8/2, headDim 128, startPos > 0", dims: { nQ: 5, startPos: 70, nHeads: 8, nKVHeads: 2, headDim: 128, scale: 128 ** -0.5 } },
  { name: "sliding window", dims: { nQ: 20, startPos: 50, nHeads: 4, nKVHeads: 2, headDim: 64, scale: 1 / 8, window: 16 }, sharpness: 2 },
  { name: "ring buffer with window", dims: { nQ: 6, startPos: 100, nHeads: 4, nKVHeads: 1, headDim: 64, scale: 1 / 8, window: 16, ringSlots: 24 } },
  { name: "soft-cap, headDim 256", dims: { nQ: 3, startPos: 90, nHeads: 8, nKVHeads: 4, headDim: 256, scale: 1 / 16, softCap: 50 }, sharpness: 4 },
  { name: "headDim 20, custom scale", dims: { nQ: 9, startPos: 60, nHeads: 3, nKVHeads: 1, headDim: 20, scale: 0.3 } },
  { name: "headDim 6", dims: { nQ: 4, startPos: 130, nHeads: 2, nKVHeads: 2, headDim: 6, scale: 0.5, window: 70 } },
];

test("flash attention matches the TypeScript kernel within its f32 error bound", () => {
  withOps((ops, runtime) => {
    const random = seeded(21);
    for (const c of ATTENTION_CASES) {
      const { q, k, v } = attentionInputs(random, c);
      const want = tsAttention(q, k, v, c.dims);
      const got = wasmAttention(ops, runtime, q, k, v, c.dims);
      const allowed = attentionAllowed(q, k, v, c.dims, want);
      assertWithin(got, want, (i) => allowed[i], c.name);
    }
  });
});

test("attention rows are bit-identical in prefill, chunked prefill, decode and any KV-head split", () => {
  withOps((ops, runtime) => {
    const random = seeded(22);
    for (const base of [
      { nHeads: 4, nKVHeads: 2, headDim: 64, scale: 1 / 8 },
      { nHeads: 3, nKVHeads: 3, headDim: 20, scale: 0.3, window: 50 },
      { nHeads: 8, nKVHeads: 4, headDim: 128, scale: 0.09, softCap: 30 },
      { nHeads: 18, nKVHeads: 18, headDim: 16, scale: 0.25 }, // decode takes 18 heads in two tiles
    ]) {
      const total = 150; // crosses two key-block boundaries and several query tiles
      const full: FlashAttentionDims = { ...base, nQ: total, startPos: 0 };
      const { q, k, v } = attentionInputs(random, { name: "", dims: full });
      const [qs, ks, vs] = [shared(runtime, q), shared(runtime, k), shared(runtime, v)];
      const qRow = base.nHeads * base.headDim;
      const prefill = runtime.allocateF32(total * qRow);
      ops.flashAttention(prefill, qs, ks, vs, full);

      const pieces = (sizes: number[]): Float32Array => {
        const out = runtime.allocateF32(total * qRow);
        let start = 0;
        for (let i = 0; start < total; i++) {
          const nQ = Math.min(sizes[i % sizes.length], total - start);
          const range = [start * qRow, (start + nQ) * qRow];
          ops.flashAttention(out.subarray(range[0], range[1]), qs.subarray(range[0], range[1]), ks, vs, { ...base, nQ, startPos: start });
          start += nQ;
        }
        return out;
      };
      assertSameBits(pieces([1]), prefill, `decode, ${JSON.stringify(base)}`);
      assertSameBits(pieces([7, 13, 64, 3]), prefill, `chunks, ${JSON.stringify(base)}`);

      const split = runtime.allocateF32(total * qRow);
      for (let g = 0; g < base.nKVHeads; g++) ops.flashAttentionHeads(split, qs, ks, vs, full, g, g + 1);
      assertSameBits(split, prefill, `one KV head per call, ${JSON.stringify(base)}`);
    }
  });
});

test("a ring-buffer cache gives the same bits as a dense cache holding the same positions", () => {
  withOps((ops, runtime) => {
    const random = seeded(23);
    const ring: FlashAttentionDims = { nQ: 5, startPos: 203, nHeads: 4, nKVHeads: 2, headDim: 64, scale: 1 / 8, window: 32, ringSlots: 40 };
    const dense: FlashAttentionDims = { ...ring, ringSlots: undefined };
    const { q, k, v } = attentionInputs(random, { name: "", dims: dense });
    const kvDim = ring.nKVHeads * ring.headDim;
    const [kRing, vRing] = [new Float32Array(40 * kvDim), new Float32Array(40 * kvDim)];
    for (let p = 0; p < ring.startPos + ring.nQ; p++) {
      kRing.set(k.subarray(p * kvDim, (p + 1) * kvDim), (p % 40) * kvDim);
      vRing.set(v.subarray(p * kvDim, (p + 1) * kvDim), (p % 40) * kvDim);
    }
    assertSameBits(wasmAttention(ops, runtime, q, kRing, vRing, ring), wasmAttention(ops, runtime, q, k, v, dense), "ring vs dense");
  });
});

test("arguments outside the shared memory are copied through and give the same bits", () => {
  withOps((ops, runtime) => {
    const random = seeded(24);
    const [n, dim] = [3, 130];
    const len = n * dim;
    const x = edgyActivations(random, len), y = activations(random, len);
    const weight = activations(random, dim), bias = activations(random, dim);
    const inMemory = (f: (o: Float32Array, a: Float32Array, b: Float32Array, w: Float32Array, c: Float32Array) => void): Float32Array => {
      const out = runtime.allocateF32(len);
      f(out, shared(runtime, x), shared(runtime, y), shared(runtime, weight), shared(runtime, bias));
      return out;
    };
    const outside = (f: (o: Float32Array, a: Float32Array, b: Float32Array, w: Float32Array, c: Float32Array) => void): Float32Array => {
      const out = new Float32Array(len);
      f(out, x.slice(), y.slice(), weight.slice(), bias.slice());
      return out;
    };
    const cases: Record<string, (o: Float32Array, a: Float32Array, b: Float32Array, w: Float32Array, c: Float32Array) => void> = {
      gelu: (o, a) => ops.gelu(o, a, len),
      swiglu: (o, a, b) => ops.swiglu(o, a, b, len),
      geglu: (o, a, b) => ops.geglu(o, a, b, len),
      add: (o, a, b) => ops.add(o, a, b, len),
      addBias: (o, a, _b, _w, c) => { o.set(a); ops.addBias(o, c, n, dim); },
      layerNorm: (o, a, _b, w, c) => ops.layerNorm(o, a, w, c, n, dim, 1e-5),
      rmsNorm: (o, a, _b, w) => ops.rmsNorm(o, a, w, n, dim, 1e-6),
    };
    for (const [name, f] of Object.entries(cases)) assertSameBits(outside(f), inMemory(f), name);

    // Mixed: some arguments in memory, some not; out aliasing its input outside memory.
    const mixed = new Float32Array(len);
    ops.swiglu(mixed, shared(runtime, x), y, len);
    assertSameBits(mixed, inMemory(cases.swiglu), "swiglu, mixed");
    const alias = x.slice();
    ops.gelu(alias, alias, len);
    assertSameBits(alias, inMemory(cases.gelu), "gelu in place outside memory");

    const c = ATTENTION_CASES[3];
    const { q, k, v } = attentionInputs(random, c);
    const out = new Float32Array(c.dims.nQ * c.dims.nHeads * c.dims.headDim);
    ops.flashAttention(out, q, k, v, c.dims);
    assertSameBits(out, wasmAttention(ops, runtime, q, k, v, c.dims), "attention outside memory");
    // A head range outside memory leaves the other heads' outputs alone.
    const part = new Float32Array(out.length).fill(7);
    ops.flashAttentionHeads(part, q, k, v, c.dims, 1, 2);
    const headDim = c.dims.headDim, perKV = (c.dims.nHeads / c.dims.nKVHeads) * headDim;
    for (let i = 0; i < out.length; i++) {
      const inRange = Math.floor((i % (c.dims.nHeads * headDim)) / perKV) === 1;
      assert.equal(part[i], inRange ? out[i] : 7, `head split outside memory, value ${i}`);
    }
  });
});

test("bad sizes throw LoomError instead of trapping", () => {
  withOps((ops, runtime) => {
    const x = runtime.allocateF32(16);
    assert.throws(() => ops.gelu(x, x, 17), LoomError);
    assert.throws(() => ops.gelu(x, x, -1), LoomError);
    assert.throws(() => ops.add(x, x, new Float32Array(3), 4), LoomError);
    assert.throws(() => ops.layerNorm(x, x, x, undefined, 2, 9, 1e-5), LoomError);
    assert.throws(() => ops.rmsNorm(x, x, x.subarray(0, 3), 2, 4, 1e-5), LoomError);
    assert.throws(() => ops.rmsNorm(x, x, x, 2, 4, NaN), LoomError);
    assert.throws(() => ops.addBias(x, x, 1, 0), LoomError);

    const d: FlashAttentionDims = { nQ: 2, startPos: 3, nHeads: 4, nKVHeads: 2, headDim: 8, scale: 0.3 };
    const q = runtime.allocateF32(2 * 4 * 8), out = runtime.allocateF32(2 * 4 * 8);
    const kv = runtime.allocateF32(5 * 2 * 8);
    ops.flashAttention(out, q, kv, kv, d); // fine
    const bad: Array<Partial<FlashAttentionDims>> = [
      { nHeads: 3 }, { nQ: 0 }, { startPos: -1 }, { headDim: 2.5 }, { startPos: 4 }, { window: 0 },
      { softCap: -1 }, { ringSlots: 4 }, { scale: NaN }, { nQ: 3 },
    ];
    for (const change of bad) assert.throws(() => ops.flashAttention(out, q, kv, kv, { ...d, ...change }), LoomError, JSON.stringify(change));
    assert.throws(() => ops.flashAttentionHeads(out, q, kv, kv, d, 1, 3), LoomError);
  });
});

test("attention spread over worker threads gives the same bits as one thread, prefill and decode", async () => {
  const pooled = createWasmRuntime({ threads: 2, minParallelWork: 0 });
  const single = createWasmRuntime({ threads: 1 });
  try {
    await pooled.ready();
    const random = seeded(33);
    const cases = [
      ...ATTENTION_CASES,
      { name: "long GQA prefill", dims: { nQ: 70, startPos: 9, nHeads: 9, nKVHeads: 3, headDim: 64, scale: 1 / 8 } },
      // Decode splits the key blocks between the threads (flash-decoding), the host merges them.
      { name: "GQA decode", dims: { nQ: 1, startPos: 150, nHeads: 9, nKVHeads: 3, headDim: 64, scale: 1 / 8 } },
      { name: "MHA decode, three key blocks", dims: { nQ: 1, startPos: 140, nHeads: 12, nKVHeads: 12, headDim: 64, scale: 1 / 8 } },
      { name: "MHA decode, more heads than one tile", dims: { nQ: 1, startPos: 333, nHeads: 20, nKVHeads: 20, headDim: 24, scale: 0.2 } },
      { name: "GQA decode, ring and window", dims: { nQ: 1, startPos: 150, nHeads: 6, nKVHeads: 2, headDim: 64, scale: 1 / 8, window: 40, ringSlots: 48 } },
    ];
    for (const c of cases) {
      const { q, k, v } = attentionInputs(random, c);
      const want = wasmAttention(new WasmOps(single), single, q, k, v, c.dims);
      const got = wasmAttention(new WasmOps(pooled), pooled, q, k, v, c.dims);
      assertSameBits(got, want, `${c.name}: 2 threads vs 1`);
    }
  } finally {
    pooled.dispose();
    single.dispose();
  }
});
