import type { Floats } from "../floats.js";

/** out = a + b, elementwise over n numbers. (Its backward is the identity into both branches.) */
export function residualForward(out: Floats, a: Floats, b: Floats, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}
