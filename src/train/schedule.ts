/**
 * The learning rate at optimizer step `step` (0-based): linear warmup from lr/warmup to lr over
 * `warmup` steps, then a cosine from lr down to minLr at `total` steps (and minLr after).
 */
export function learningRate(step: number, s: { lr: number; minLr: number; warmup: number; total: number }): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (step >= s.total) return s.minLr;
  const progress = (step - s.warmup) / Math.max(1, s.total - s.warmup);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
