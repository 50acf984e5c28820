// Dense products out (n, rows) = x (n, cols) · Wᵀ with W stored as f32, f16 or bf16.
// The storage type parameter T selects the decoder at compile time:
//   f32 → f32,  u16 → IEEE half bits,  i16 → bfloat16 bits.
// 16-bit weights are widened to f32 four at a time in registers, never in memory, and every
// (row, token) sum follows the same lane order, so f16 weights give exactly the f32 result of the
// same values and a token's output never depends on which micro-kernel computed it.

import { f16ToF32, f16x4ToF32x4, bf16x4ToF32x4 } from "./half";
import { sumLanes, min32, rowBlock } from "./common";

/** Weights k .. k+3 of a row as f32x4. */
@inline
function load4<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return v128.load(p);
  if (isSigned<T>()) return bf16x4ToF32x4(v128.load16x4_u(p));
  return f16x4ToF32x4(v128.load16x4_s(p));
}

/** One weight as f32 (for the columns past the last multiple of 4). */
@inline
function load1<T>(p: usize): f32 {
  if (sizeof<T>() == 4) return load<f32>(p);
  const bits = <u32>load<u16>(p);
  return isSigned<T>() ? reinterpret<f32>(bits << 16) : f16ToF32(bits);
}

@inline
function mulAdd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * 4 rows `apart` bytes from each other × 1 token (decode), written `outApart` bytes apart. Each row
 * is read front to back, its own stream: four streams far apart stay ahead in the prefetchers,
 * where four neighbouring rows read side by side (a few KB apart) came from memory at 60–65% of
 * the speed (f32 768-wide rows, one thread: 15.6 → 25 GB/s). Four independent sums keep the
 * adder busy. (Prefill's leftover tokens pass neighbouring rows: apart = one row, outApart = 4.)
 */
@inline
function rowsApart4x1<T>(w: usize, apart: usize, x: usize, out: usize, outApart: usize, cols: i32): void {
  const S = sizeof<T>();
  const w1 = w + apart, w2 = w1 + apart, w3 = w2 + apart;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let k = 0;
  for (; k + 8 <= cols; k += 8) {
    const xo = <usize>k << 2;
    const o = <usize>k * S, o4 = o + 4 * S;
    const xv = v128.load(x + xo), xw = v128.load(x + xo, 16);
    a0 = mulAdd(a0, load4<T>(w + o), xv);
    a1 = mulAdd(a1, load4<T>(w1 + o), xv);
    a2 = mulAdd(a2, load4<T>(w2 + o), xv);
    a3 = mulAdd(a3, load4<T>(w3 + o), xv);
    a0 = mulAdd(a0, load4<T>(w + o4), xw);
    a1 = mulAdd(a1, load4<T>(w1 + o4), xw);
    a2 = mulAdd(a2, load4<T>(w2 + o4), xw);
    a3 = mulAdd(a3, load4<T>(w3 + o4), xw);
  }
  for (; k + 4 <= cols; k += 4) {
    const xv = v128.load(x + (<usize>k << 2));
    const o = <usize>k * S;
    a0 = mulAdd(a0, load4<T>(w + o), xv);
    a1 = mulAdd(a1, load4<T>(w1 + o), xv);
    a2 = mulAdd(a2, load4<T>(w2 + o), xv);
    a3 = mulAdd(a3, load4<T>(w3 + o), xv);
  }
  let s0 = sumLanes(a0), s1 = sumLanes(a1), s2 = sumLanes(a2), s3 = sumLanes(a3);
  for (; k < cols; k++) {
    const xk = load<f32>(x + (<usize>k << 2));
    const o = <usize>k * S;
    s0 += load1<T>(w + o) * xk;
    s1 += load1<T>(w1 + o) * xk;
    s2 += load1<T>(w2 + o) * xk;
    s3 += load1<T>(w3 + o) * xk;
  }
  store<f32>(out, s0);
  store<f32>(out + outApart, s1);
  store<f32>(out + 2 * outApart, s2);
  store<f32>(out + 3 * outApart, s3);
}

/**
 * Decode (1 token) over units [i0, i1) of the whole matrix: unit i < ⌊rows/4⌋ is rows i + j·⌊rows/4⌋
 * (j = 0..3), a quarter of the matrix apart whatever share of it this call takes; the unit after
 * them (when rows is not a multiple of 4) is the last rows mod 4 rows.
 */
@inline
function decodeDense<T>(w: usize, x: usize, out: usize, rows: i32, cols: i32, i0: i32, i1: i32): void {
  const rowBytes = <usize>cols * sizeof<T>();
  const quarter = rows >> 2;
  for (let i = i0; i < min32(i1, quarter); i++) {
    rowsApart4x1<T>(w + <usize>i * rowBytes, <usize>quarter * rowBytes, x, out + (<usize>i << 2), <usize>quarter << 2, cols);
  }
  if (i1 > quarter) {
    for (let r = quarter << 2; r < rows; r++) rows1x1<T>(w + <usize>r * rowBytes, x, out + (<usize>r << 2), cols);
  }
}

/** 1 row × 1 token: the leftovers. */
@inline
function rows1x1<T>(w: usize, x: usize, out: usize, cols: i32): void {
  const S = sizeof<T>();
  let a = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= cols; k += 4) a = mulAdd(a, load4<T>(w + <usize>k * S), v128.load(x + (<usize>k << 2)));
  let s = sumLanes(a);
  for (; k < cols; k++) s += load1<T>(w + <usize>k * S) * load<f32>(x + (<usize>k << 2));
  store<f32>(out, s);
}

/** 2 rows × 4 tokens: each decoded weight vector is used four times (prefill). */
@inline
function rows2x4<T>(w: usize, rowBytes: usize, x: usize, xStride: usize, out: usize, outStride: usize, cols: i32): void {
  const S = sizeof<T>();
  const w1 = w + rowBytes;
  const x1 = x + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
  let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00;
  let a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  let k = 0;
  for (; k + 4 <= cols; k += 4) {
    const o = <usize>k * S;
    const xo = <usize>k << 2;
    const v0 = load4<T>(w + o), v1 = load4<T>(w1 + o);
    let xv = v128.load(x + xo);
    a00 = mulAdd(a00, v0, xv); a10 = mulAdd(a10, v1, xv);
    xv = v128.load(x1 + xo);
    a01 = mulAdd(a01, v0, xv); a11 = mulAdd(a11, v1, xv);
    xv = v128.load(x2 + xo);
    a02 = mulAdd(a02, v0, xv); a12 = mulAdd(a12, v1, xv);
    xv = v128.load(x3 + xo);
    a03 = mulAdd(a03, v0, xv); a13 = mulAdd(a13, v1, xv);
  }
  let s00 = sumLanes(a00), s01 = sumLanes(a01), s02 = sumLanes(a02), s03 = sumLanes(a03);
  let s10 = sumLanes(a10), s11 = sumLanes(a11), s12 = sumLanes(a12), s13 = sumLanes(a13);
  for (; k < cols; k++) {
    const o = <usize>k * S;
    const xo = <usize>k << 2;
    const v0 = load1<T>(w + o), v1 = load1<T>(w1 + o);
    let xk = load<f32>(x + xo);
    s00 += v0 * xk; s10 += v1 * xk;
    xk = load<f32>(x1 + xo);
    s01 += v0 * xk; s11 += v1 * xk;
    xk = load<f32>(x2 + xo);
    s02 += v0 * xk; s12 += v1 * xk;
    xk = load<f32>(x3 + xo);
    s03 += v0 * xk; s13 += v1 * xk;
  }
  store<f32>(out, s00); store<f32>(out, s10, 4);
  out += outStride;
  store<f32>(out, s01); store<f32>(out, s11, 4);
  out += outStride;
  store<f32>(out, s02); store<f32>(out, s12, 4);
  out += outStride;
  store<f32>(out, s03); store<f32>(out, s13, 4);
}

/**
 * Rows r0 .. r1 of out (n, rows) = x (n, cols) · Wᵀ. Rows are taken in blocks that stay in cache
 * while all token tiles pass over them, so W streams from memory once per call.
 */
@inline
function matmulDense<T>(w: usize, x: usize, out: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>cols * sizeof<T>();
  const xStride = <usize>cols << 2;
  const outStride = <usize>rows << 2;
  if (n == 1) {
    // Decode: the rows of [r0, r1) as decodeDense takes a whole matrix's.
    const count = r1 - r0;
    decodeDense<T>(w + <usize>r0 * rowBytes, x, out + (<usize>r0 << 2), count, cols, 0, (count + 3) >> 2);
    return;
  }
  const block = rowBlock(<i32>rowBytes, 4);
  for (let start = r0; start < r1; start += block) {
    const end = min32(start + block, r1);
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      const xt = x + <usize>t * xStride;
      const ot = out + <usize>t * outStride;
      let r = start;
      for (; r + 2 <= end; r += 2) {
        rows2x4<T>(w + <usize>r * rowBytes, rowBytes, xt, xStride, ot + (<usize>r << 2), outStride, cols);
      }
      for (; r < end; r++) {
        for (let j = 0; j < 4; j++) {
          rows1x1<T>(w + <usize>r * rowBytes, xt + <usize>j * xStride, ot + <usize>j * outStride + (<usize>r << 2), cols);
        }
      }
    }
    for (; t < n; t++) {
      const xt = x + <usize>t * xStride;
      const ot = out + <usize>t * outStride;
      let r = start;
      for (; r + 4 <= end; r += 4) rowsApart4x1<T>(w + <usize>r * rowBytes, rowBytes, xt, ot + (<usize>r << 2), 4, cols);
      for (; r < end; r++) rows1x1<T>(w + <usize>r * rowBytes, xt, ot + (<usize>r << 2), cols);
    }
  }
}

export function matmulF32(w: usize, x: usize, out: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32): void {
  matmulDense<f32>(w, x, out, rows, cols, n, r0, r1);
}

export function matmulF16(w: usize, x: usize, out: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32): void {
  matmulDense<u16>(w, x, out, rows, cols, n, r0, r1);
}

export function matmulBF16(w: usize, x: usize, out: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32): void {
  matmulDense<i16>(w, x, out, rows, cols, n, r0, r1);
}

export function decodeF32(w: usize, x: usize, out: usize, rows: i32, cols: i32, i0: i32, i1: i32): void {
  decodeDense<f32>(w, x, out, rows, cols, i0, i1);
}

export function decodeF16(w: usize, x: usize, out: usize, rows: i32, cols: i32, i0: i32, i1: i32): void {
  decodeDense<u16>(w, x, out, rows, cols, i0, i1);
}

export function decodeBF16(w: usize, x: usize, out: usize, rows: i32, cols: i32, i0: i32, i1: i32): void {
  decodeDense<i16>(w, x, out, rows, cols, i0, i1);
}
