import type { Floats } from "../floats.js";

/**
 * Causal multi-head attention with grouped KV heads (GQA; nKV = nHeads is plain MHA).
 *
 * qkv (B·T, S): each row is [q (nHeads·d) | k (nKV·d) | v (nKV·d)], S = (nHeads + 2·nKV)·d,
 * already rotated by RoPE. out (B·T, nHeads·d) holds the heads side by side, as o_proj expects.
 * probs (B, nHeads, T, T) keeps the softmax for the backward pass (zeros above the diagonal).
 *
 * Work is split in units of (batch, kv head) so that threads never write the same numbers: query
 * head h reads kv head ⌊h / (nHeads/nKV)⌋, and in the backward pass all query heads of a group add
 * into the same dk, dv.
 */
export interface AttentionDims {
  B: number;
  T: number;
  nHeads: number;
  nKVHeads: number;
  headDim: number;
}

export function attentionUnits(d: AttentionDims): number {
  return d.B * d.nKVHeads;
}

export function attentionForward(
  out: Floats, probs: Floats, qkv: Floats, d: AttentionDims, unitStart = 0, unitEnd = attentionUnits(d),
): void {
  const { T, nHeads, nKVHeads, headDim } = d;
  const Q = nHeads * headDim;
  const S = Q + 2 * nKVHeads * headDim;
  const group = nHeads / nKVHeads;
  const scale = 1 / Math.sqrt(headDim);
  for (let u = unitStart; u < unitEnd; u++) {
    const b = Math.floor(u / nKVHeads);
    const kvh = u % nKVHeads;
    const kCol = Q + kvh * headDim;
    const vCol = Q + nKVHeads * headDim + kvh * headDim;
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * S + h * headDim;
        const po = ((b * nHeads + h) * T + t) * T;
        // scores and their max
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const ko = (b * T + t2) * S + kCol;
          let s = 0;
          for (let i = 0; i < headDim; i++) s += qkv[qo + i] * qkv[ko + i];
          s *= scale;
          probs[po + t2] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(probs[po + t2] - max);
          probs[po + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let t2 = 0; t2 <= t; t2++) probs[po + t2] *= inv;
        for (let t2 = t + 1; t2 < T; t2++) probs[po + t2] = 0;
        // weighted sum of values
        const oo = (b * T + t) * Q + h * headDim;
        for (let i = 0; i < headDim; i++) out[oo + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const p = probs[po + t2];
          const vo = (b * T + t2) * S + vCol;
          for (let i = 0; i < headDim; i++) out[oo + i] += p * qkv[vo + i];
        }
      }
    }
  }
}

/**
 * Given dout (B·T, nHeads·d), writes dqkv (B·T, S) in the layout of qkv (overwriting the unit's
 * columns). Per query row: dv += p·dout, dp = dout·v, ds = p·(dp − Σ p·dp),
 * dq = scale·Σ ds·k, dk += scale·ds·q. `scratch` holds one row of dp (length ≥ T).
 */
export function attentionBackward(
  dqkv: Floats, dout: Floats, probs: Floats, qkv: Floats, d: AttentionDims, scratch: Floats,
  unitStart = 0, unitEnd = attentionUnits(d),
): void {
  const { T, nHeads, nKVHeads, headDim } = d;
  const Q = nHeads * headDim;
  const S = Q + 2 * nKVHeads * headDim;
  const group = nHeads / nKVHeads;
  const scale = 1 / Math.sqrt(headDim);
  for (let u = unitStart; u < unitEnd; u++) {
    const b = Math.floor(u / nKVHeads);
    const kvh = u % nKVHeads;
    const kCol = Q + kvh * headDim;
    const vCol = Q + nKVHeads * headDim + kvh * headDim;
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * S;
      for (let i = 0; i < headDim; i++) {
        dqkv[row + kCol + i] = 0;
        dqkv[row + vCol + i] = 0;
      }
    }
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * S + h * headDim;
        const po = ((b * nHeads + h) * T + t) * T;
        const oo = (b * T + t) * Q + h * headDim;
        let pdp = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vo = (b * T + t2) * S + vCol;
          const p = probs[po + t2];
          let dp = 0;
          for (let i = 0; i < headDim; i++) {
            dp += dout[oo + i] * qkv[vo + i];
            dqkv[vo + i] += p * dout[oo + i];
          }
          scratch[t2] = dp;
          pdp += p * dp;
        }
        for (let i = 0; i < headDim; i++) dqkv[qo + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const ds = probs[po + t2] * (scratch[t2] - pdp) * scale;
          const ko = (b * T + t2) * S + kCol;
          for (let i = 0; i < headDim; i++) {
            dqkv[qo + i] += ds * qkv[ko + i];
            dqkv[ko + i] += ds * qkv[qo + i];
          }
        }
      }
    }
  }
}
