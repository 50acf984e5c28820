// Element-wise and per-row kernels of a forward pass: GELU, SwiGLU, GeGLU, residual adds, biases,
// LayerNorm and RMSNorm, four f32 lanes at a time. Every pointer is a byte offset; out may alias an
// input. The last len mod 4 values go through the same four-lane arithmetic (one lane used), so a
// value's result never depends on where it sits.

import { expF32x4 } from "./math";

// −2·√(2/π) and −2·√(2/π)·0.044715: gelu's exponent −2u = x·(A + B·x²).
const GELU_CONSTANTS = memory.data<f32>([
  -1.5957691216, -1.5957691216, -1.5957691216, -1.5957691216, //  0: A
  -0.0713548162726, -0.0713548162726, -0.0713548162726, -0.0713548162726, // 16: B
  1, 1, 1, 1, // 32
], 16);

/**
 * GELU, tanh form: ½x(1 + tanh u) with u = √(2/π)(x + 0.044715x³). As 1 + tanh u = 2/(1 + e^−2u),
 * this is x / (1 + e^−2u): no cancellation where tanh u → −1 (x ≪ 0), and e^−2u → ∞ gives −0.
 */
@inline
function gelu4(x: v128): v128 {
  const c = GELU_CONSTANTS;
  const minusTwoU = f32x4.mul(x, f32x4.add(v128.load(c, 0), f32x4.mul(v128.load(c, 16), f32x4.mul(x, x))));
  return f32x4.div(x, f32x4.add(v128.load(c, 32), expF32x4(minusTwoU)));
}

/** SiLU: g·σ(g) = g / (1 + e^−g); large −g gives e^−g = ∞ and −0, large g gives g. */
@inline
function silu4(g: v128): v128 {
  return f32x4.div(g, f32x4.add(v128.load(GELU_CONSTANTS, 32), expF32x4(f32x4.neg(g))));
}

@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** out = gelu(x) over len values. */
export function opGelu(out: usize, x: usize, len: i32): void {
  let i = 0;
  // Four independent vectors per pass: one exp is a long dependent chain, and the CPU overlaps
  // four of them far better than it finds the next iteration's (3072 values: 5.9 → 3.5 µs).
  for (; i + 16 <= len; i += 16) {
    const xp = at(x, i), op = at(out, i);
    const r0 = gelu4(v128.load(xp)), r1 = gelu4(v128.load(xp, 16)), r2 = gelu4(v128.load(xp, 32)), r3 = gelu4(v128.load(xp, 48));
    v128.store(op, r0); v128.store(op, r1, 16); v128.store(op, r2, 32); v128.store(op, r3, 48);
  }
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), gelu4(v128.load(at(x, i))));
  for (; i < len; i++) store<f32>(at(out, i), f32x4.extract_lane(gelu4(f32x4.splat(load<f32>(at(x, i)))), 0));
}

/** out = silu(gate)·up (Llama's SwiGLU). */
export function opSwiglu(out: usize, gate: usize, up: usize, len: i32): void {
  let i = 0;
  for (; i + 16 <= len; i += 16) { // four vectors per pass, as in opGelu
    const gp = at(gate, i), up4 = at(up, i), op = at(out, i);
    const r0 = f32x4.mul(silu4(v128.load(gp)), v128.load(up4));
    const r1 = f32x4.mul(silu4(v128.load(gp, 16)), v128.load(up4, 16));
    const r2 = f32x4.mul(silu4(v128.load(gp, 32)), v128.load(up4, 32));
    const r3 = f32x4.mul(silu4(v128.load(gp, 48)), v128.load(up4, 48));
    v128.store(op, r0); v128.store(op, r1, 16); v128.store(op, r2, 32); v128.store(op, r3, 48);
  }
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.mul(silu4(v128.load(at(gate, i))), v128.load(at(up, i))));
  for (; i < len; i++) {
    const g = f32x4.extract_lane(silu4(f32x4.splat(load<f32>(at(gate, i)))), 0);
    store<f32>(at(out, i), g * load<f32>(at(up, i)));
  }
}

/** out = gelu(gate)·up (Gemma's GeGLU). */
export function opGeglu(out: usize, gate: usize, up: usize, len: i32): void {
  let i = 0;
  for (; i + 16 <= len; i += 16) { // four vectors per pass, as in opGelu
    const gp = at(gate, i), up4 = at(up, i), op = at(out, i);
    const r0 = f32x4.mul(gelu4(v128.load(gp)), v128.load(up4));
    const r1 = f32x4.mul(gelu4(v128.load(gp, 16)), v128.load(up4, 16));
    const r2 = f32x4.mul(gelu4(v128.load(gp, 32)), v128.load(up4, 32));
    const r3 = f32x4.mul(gelu4(v128.load(gp, 48)), v128.load(up4, 48));
    v128.store(op, r0); v128.store(op, r1, 16); v128.store(op, r2, 32); v128.store(op, r3, 48);
  }
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.mul(gelu4(v128.load(at(gate, i))), v128.load(at(up, i))));
  for (; i < len; i++) {
    const g = f32x4.extract_lane(gelu4(f32x4.splat(load<f32>(at(gate, i)))), 0);
    store<f32>(at(out, i), g * load<f32>(at(up, i)));
  }
}

/** out = a + b over len values. */
export function opAdd(out: usize, a: usize, b: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < len; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}

/** x (n, dim) += bias (dim), row by row. */
export function opAddBias(x: usize, bias: usize, n: i32, dim: i32): void {
  for (let t = 0; t < n; t++) opAdd(at(x, t * dim), at(x, t * dim), bias, dim);
}

/** f32 lanes 0, 1 and 2, 3 of v as f64x2. */
@inline
function lowF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

@inline
function highF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
}

/** The two lanes of four f64x2 partial sums, added up. */
@inline
function total(a: v128, b: v128, c: v128, d: v128): f64 {
  const s = f64x2.add(f64x2.add(a, b), f64x2.add(c, d));
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/**
 * Σ (x − c)² over a row in f64, or Σ x when squares is false (c = 0 for RMSNorm, the mean for
 * LayerNorm). Four f64x2 partial sums, eight values per pass: one sum would wait on the add
 * latency every step.
 */
@inline
function rowSum(x: usize, dim: i32, c: f64, squares: bool): f64 {
  const cv = f64x2.splat(c);
  let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let i = 0;
  for (; i + 8 <= dim; i += 8) {
    const v = v128.load(at(x, i)), w = v128.load(at(x, i), 16);
    let d0 = f64x2.sub(lowF64(v), cv), d1 = f64x2.sub(highF64(v), cv);
    let d2 = f64x2.sub(lowF64(w), cv), d3 = f64x2.sub(highF64(w), cv);
    if (squares) {
      d0 = f64x2.mul(d0, d0);
      d1 = f64x2.mul(d1, d1);
      d2 = f64x2.mul(d2, d2);
      d3 = f64x2.mul(d3, d3);
    }
    s0 = f64x2.add(s0, d0);
    s1 = f64x2.add(s1, d1);
    s2 = f64x2.add(s2, d2);
    s3 = f64x2.add(s3, d3);
  }
  let s = total(s0, s1, s2, s3);
  for (; i < dim; i++) {
    const d = <f64>load<f32>(at(x, i)) - c;
    s += squares ? d * d : d;
  }
  return s;
}

/**
 * LayerNorm rows: (x − mean)/√(var + eps)·weight + bias (population variance), all in f64 and
 * rounded once, as the TypeScript kernel does: a row whose mean dwarfs its spread loses nothing,
 * and quantized models that requantize the result see the same values. bias = 0: none.
 */
export function opLayerNorm(out: usize, x: usize, weight: usize, bias: usize, n: i32, dim: i32, eps: f64): void {
  for (let t = 0; t < n; t++) {
    const xr = at(x, t * dim);
    const or = at(out, t * dim);
    const mean = rowSum(xr, dim, 0, false) / <f64>dim;
    const inv = 1 / Math.sqrt(rowSum(xr, dim, mean, true) / <f64>dim + eps);
    const meanV = f64x2.splat(mean), invV = f64x2.splat(inv);
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const v = v128.load(at(xr, i)), w = v128.load(at(weight, i));
      let lo = f64x2.mul(f64x2.mul(f64x2.sub(lowF64(v), meanV), invV), lowF64(w));
      let hi = f64x2.mul(f64x2.mul(f64x2.sub(highF64(v), meanV), invV), highF64(w));
      if (bias != 0) {
        const b = v128.load(at(bias, i));
        lo = f64x2.add(lo, lowF64(b));
        hi = f64x2.add(hi, highF64(b));
      }
      v128.store(at(or, i), toF32x4(lo, hi));
    }
    for (; i < dim; i++) {
      let r = (<f64>load<f32>(at(xr, i)) - mean) * inv * <f64>load<f32>(at(weight, i));
      if (bias != 0) r += <f64>load<f32>(at(bias, i));
      store<f32>(at(or, i), <f32>r);
    }
  }
}

/** RMSNorm rows: x/√(mean(x²) + eps)·weight, in f64 and rounded once (as the TypeScript kernel). */
export function opRmsNorm(out: usize, x: usize, weight: usize, n: i32, dim: i32, eps: f64): void {
  for (let t = 0; t < n; t++) {
    const xr = at(x, t * dim);
    const or = at(out, t * dim);
    const invV = f64x2.splat(1 / Math.sqrt(rowSum(xr, dim, 0, true) / <f64>dim + eps));
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const v = v128.load(at(xr, i)), w = v128.load(at(weight, i));
      const lo = f64x2.mul(f64x2.mul(lowF64(v), invV), lowF64(w));
      const hi = f64x2.mul(f64x2.mul(highF64(v), invV), highF64(w));
      v128.store(at(or, i), toF32x4(lo, hi));
    }
    const inv = f64x2.extract_lane(invV, 0);
    for (; i < dim; i++) store<f32>(at(or, i), <f32>(<f64>load<f32>(at(xr, i)) * inv * <f64>load<f32>(at(weight, i))));
  }
}

/** Two f64x2 rounded to one f32x4 (lo in lanes 0, 1). */
@inline
function toF32x4(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}
