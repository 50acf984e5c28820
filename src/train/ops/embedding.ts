import type { Floats } from "../floats.js";

/** out (N, C) = table[tokens[n]] row by row. */
export function embeddingForward(out: Floats, tokens: Int32Array, table: Floats, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const src = tokens[n] * C;
    const dst = n * C;
    for (let c = 0; c < C; c++) out[dst + c] = table[src + c];
  }
}

/** dTable[tokens[n]] += dOut[n]: a row that appears twice gets both gradients. */
export function embeddingBackward(dTable: Floats, dOut: Floats, tokens: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const dst = tokens[n] * C;
    const src = n * C;
    for (let c = 0; c < C; c++) dTable[dst + c] += dOut[src + c];
  }
}
