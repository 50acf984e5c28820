import { LoomError } from "../errors.js";
import type { ParamEntry } from "./config.js";
import type { Floats } from "./floats.js";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

/**
 * AdamW (Loshchilov & Hutter): Adam's update plus weight decay applied to the weights directly,
 * p ← p − lr·(m̂ / (√v̂ + ε) + λ·p), not through the gradient. Decay only touches tensors whose
 * table entry says so (the projection matrices).
 */
export class AdamW {
  /** First and second moments, one number per parameter. */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Updates taken so far (the t of the bias corrections). */
  step = 0;
  private readonly decayMask: Uint8Array;

  constructor(readonly table: ParamEntry[], readonly options: AdamWOptions = DEFAULT_ADAMW) {
    const last = table[table.length - 1];
    const size = last.offset + last.size;
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.decayMask = new Uint8Array(size);
    for (const e of table) if (e.decay) this.decayMask.fill(1, e.offset, e.offset + e.size);
  }

  update(params: Floats, grads: Floats, lr: number): void {
    if (params.length !== this.m.length || grads.length !== this.m.length) {
      throw new LoomError(`AdamW: expected ${this.m.length} parameters and gradients, got ${params.length} and ${grads.length}`);
    }
    const { beta1, beta2, eps, weightDecay } = this.options;
    this.step++;
    const c1 = 1 - Math.pow(beta1, this.step);
    const c2 = 1 - Math.pow(beta2, this.step);
    const m = this.m;
    const v = this.v;
    const mask = this.decayMask;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * g);
      const vi = (v[i] = beta2 * v[i] + (1 - beta2) * g * g);
      const update = mi / c1 / (Math.sqrt(vi / c2) + eps) + (mask[i] ? weightDecay * params[i] : 0);
      params[i] -= lr * update;
    }
  }
}

/** The global L2 norm of the gradient; if above maxNorm, scales it down to maxNorm. Returns the norm before clipping. */
export function clipGradNorm(grads: Floats, maxNorm: number): number {
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grads.length; i++) grads[i] *= scale;
  }
  return norm;
}
