/**
 * Slow, obvious twins of HF's logits processors, written the way transformers writes them: on a
 * dense score vector, masking removed tokens with -inf. Tests compare the candidate-set samplers
 * with these.
 */

export type Dense = number[];

const softmax = (scores: Dense): number[] => {
  const max = Math.max(...scores);
  const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - max)));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
};

/** Indices sorted by score, highest first, equal scores by lower index (Loom's documented tie rule). */
const descending = (scores: Dense): number[] => scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);

const mask = (scores: Dense, remove: boolean[]): Dense => scores.map((s, i) => (remove[i] ? -Infinity : s));

export function temperatureRef(scores: Dense, t: number): Dense {
  return scores.map((s) => s / t);
}

/** HF: remove scores < topk(scores, k)[-1]. */
export function topKRef(scores: Dense, k: number, minKeep = 1): Dense {
  const kk = Math.min(Math.max(k, minKeep), scores.length);
  const kth = [...scores].sort((a, b) => b - a)[kk - 1];
  return mask(
    scores,
    scores.map((s) => s < kth),
  );
}

/** HF: sort ascending, cumsum softmax, remove cumsum <= 1 - p, keep the last minKeep. */
export function topPRef(scores: Dense, p: number, minKeep = 1): Dense {
  const ascending = descending(scores).reverse();
  const probs = softmax(scores);
  const remove = scores.map(() => false);
  let cumulative = 0;
  ascending.forEach((index, rank) => {
    cumulative += probs[index];
    const protectedTop = rank >= ascending.length - minKeep;
    if (cumulative <= 1 - p && !protectedTop) remove[index] = true;
  });
  return mask(scores, remove);
}

/** HF: remove probs < minP * max prob, but never the top minKeep by probability. */
export function minPRef(scores: Dense, minP: number, minKeep = 1): Dense {
  const probs = softmax(scores);
  const top = Math.max(...probs);
  const remove = probs.map((q) => q < minP * top);
  for (const i of descending(scores).slice(0, minKeep)) remove[i] = false;
  return mask(scores, remove);
}

/** HF's TypicalLogitsWarper. */
export function typicalRef(scores: Dense, mass: number, minKeep = 1): Dense {
  const probs = softmax(scores);
  const logp = probs.map((q) => Math.log(q));
  let entropy = 0;
  probs.forEach((q, i) => {
    if (q > 0) entropy -= q * logp[i];
  });
  const shifted = logp.map((l) => Math.abs(-l - entropy));
  const order = scores.map((_, i) => i).sort((a, b) => shifted[a] - shifted[b] || a - b);
  let cumulative = 0;
  let lastIndex = 0;
  for (const i of order) {
    cumulative += probs[i];
    if (cumulative < mass) lastIndex++;
  }
  lastIndex = Math.min(lastIndex, order.length - 1);
  const limit = shifted[order[lastIndex]];
  const remove = scores.map((_, i) => shifted[i] > limit);
  for (const i of order.slice(0, minKeep)) remove[i] = false;
  return mask(scores, remove);
}

export function repetitionPenaltyRef(scores: Dense, history: readonly number[], penalty: number): Dense {
  const out = scores.slice();
  for (const id of new Set(history)) out[id] = out[id] < 0 ? out[id] * penalty : out[id] / penalty;
  return out;
}

/** HF's _get_ngrams / _get_generated_ngrams, literally. */
export function noRepeatNgramRef(scores: Dense, history: readonly number[], n: number): Dense {
  if (history.length + 1 < n) return scores.slice();
  const seen = new Map<string, number[]>();
  for (let i = 0; i + n <= history.length; i++) {
    const gram = history.slice(i, i + n);
    const key = gram.slice(0, -1).join(",");
    seen.set(key, [...(seen.get(key) ?? []), gram[n - 1]]);
  }
  const banned = seen.get(history.slice(history.length + 1 - n).join(",")) ?? [];
  return scores.map((s, i) => (banned.includes(i) ? -Infinity : s));
}

export function survivors(scores: Dense): number[] {
  return scores.flatMap((s, i) => (s === -Infinity ? [] : [i]));
}
