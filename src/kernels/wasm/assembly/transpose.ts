// Matrix transposes, for checkpoints that store a layer's weights (in, out) — HF GPT-2's Conv1D —
// while the kernels read rows of (out, in). Run once at load; a transpose job (index.ts) hands
// bands of source rows to the threads.

/** The 4 × 4 block of 32-bit values at src (rows srcStride bytes apart), transposed to dst. */
@inline
function block4x4(src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + srcStride);
  const r2 = v128.load(src + 2 * srcStride), r3 = v128.load(src + 3 * srcStride);
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7); // a2 b2 a3 b3
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5); // c0 d0 c1 d1
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7); // c2 d2 c3 d3
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + dstStride, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * dstStride, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * dstStride, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

const TILE = 32;

/** Source rows per band of a transpose job: one tile. */
export const TRANSPOSE_BAND: i32 = TILE;

/**
 * dst (cols, rows) = src (rows, cols)ᵀ for 32-bit values; src and dst must not overlap. Tiles of
 * 32 × 32 keep both sides in cache; inside a tile, 4 × 4 blocks move through registers.
 */
export function transpose32(src: usize, dst: usize, rows: i32, cols: i32): void {
  transposeRows32(src, dst, rows, cols, 0, rows);
}

/** transpose32 for source rows [from, to) only (from a multiple of TILE): dst columns from .. to − 1. */
export function transposeRows32(src: usize, dst: usize, rows: i32, cols: i32, from: i32, to: i32): void {
  const srcStride = <usize>cols << 2, dstStride = <usize>rows << 2;
  for (let r0 = from; r0 < to; r0 += TILE) {
    const r1 = min(to, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = min(cols, c0 + TILE);
      let r = r0;
      for (; r + 4 <= r1; r += 4) {
        let c = c0;
        for (; c + 4 <= c1; c += 4) {
          block4x4(src + <usize>r * srcStride + (<usize>c << 2), srcStride, dst + <usize>c * dstStride + (<usize>r << 2), dstStride);
        }
        for (; c < c1; c++) {
          for (let i = r; i < r + 4; i++) store<u32>(dst + <usize>c * dstStride + (<usize>i << 2), load<u32>(src + <usize>i * srcStride + (<usize>c << 2)));
        }
      }
      for (; r < r1; r++) {
        for (let c = c0; c < c1; c++) store<u32>(dst + <usize>c * dstStride + (<usize>r << 2), load<u32>(src + <usize>r * srcStride + (<usize>c << 2)));
      }
    }
  }
}

/** dst (cols, rows) = src (rows, cols)ᵀ for 16-bit values (f16, bf16); src and dst must not overlap. */
export function transpose16(src: usize, dst: usize, rows: i32, cols: i32): void {
  transposeRows16(src, dst, rows, cols, 0, rows);
}

/** transpose16 for source rows [from, to) only (from a multiple of TILE). */
export function transposeRows16(src: usize, dst: usize, rows: i32, cols: i32, from: i32, to: i32): void {
  const srcStride = <usize>cols << 1, dstStride = <usize>rows << 1;
  for (let r0 = from; r0 < to; r0 += TILE) {
    const r1 = min(to, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const to = dst + <usize>c * dstStride;
        for (let r = r0; r < r1; r++) store<u16>(to + (<usize>r << 1), load<u16>(src + <usize>r * srcStride + (<usize>c << 1)));
      }
    }
  }
}
