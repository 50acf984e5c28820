import type { Floats } from "../floats.js";

/** Learned absolute positions (GPT-2's wpe): x[n] += table[n mod T], for B·T rows of width C. */
export function positionForward(x: Floats, table: Floats, N: number, T: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const src = (n % T) * C;
    const dst = n * C;
    for (let c = 0; c < C; c++) x[dst + c] += table[src + c];
  }
}

/** dTable[n mod T] += dx[n]: every sequence of the batch adds into the same rows. Rows ≥ T get nothing. */
export function positionBackward(dTable: Floats, dx: Floats, N: number, T: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const dst = (n % T) * C;
    const src = n * C;
    for (let c = 0; c < C; c++) dTable[dst + c] += dx[src + c];
  }
}
