/**
 * HF's logits warpers, applied only when sampling, in HF's order: temperature -> top-k -> top-p ->
 * min-p -> typical. Each keeps at least `minKeep` tokens (HF's min_tokens_to_keep: 1, or the number of
 * EOS ids + 1 in beam sampling so a non-EOS continuation always survives).
 */
import { computeProbs, keepFirst, permute, retain, sortByLogit, type CandidateSet } from "./candidates.js";
import type { Sampler } from "./sampler.js";

function stateless(name: string, apply: (c: CandidateSet) => void): Sampler {
  const self: Sampler = { name, apply, clone: () => self };
  return self;
}

/** Divides every score by `t` (t < 1 sharpens, t > 1 flattens). */
export function temperature(t: number): Sampler {
  return stateless("temperature", (c) => {
    for (let i = 0; i < c.size; i++) c.logits[i] /= t;
  });
}

/**
 * Keeps the k highest scores. Like HF (`scores < topk(scores, k)[-1]` is removed), every token tied
 * with the k-th score survives, so the set may hold more than k tokens.
 */
export function topK(k: number, minKeep = 1): Sampler {
  return stateless("top-k", (c) => {
    const keep = Math.min(Math.max(k, minKeep), c.size);
    if (keep >= c.size) return;
    const threshold = c.sorted ? c.logits[keep - 1] : kthLargest(c.logits, c.size, keep);
    retain(c, (i) => c.logits[i] >= threshold);
    sortByLogit(c); // only the survivors: O(V log k) overall instead of sorting the vocabulary
  });
}

/** The k-th largest of values[0..n), with a size-k min-heap. */
function kthLargest(values: Float64Array, n: number, k: number): number {
  const heap = new Float64Array(k);
  let size = 0;
  const siftDown = (at: number): void => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let least = at;
      if (l < size && heap[l] < heap[least]) least = l;
      if (r < size && heap[r] < heap[least]) least = r;
      if (least === at) return;
      [heap[at], heap[least]] = [heap[least], heap[at]];
      at = least;
    }
  };
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (size < k) {
      let at = size++;
      heap[at] = v;
      while (at > 0 && heap[(at - 1) >> 1] > heap[at]) {
        const parent = (at - 1) >> 1;
        [heap[at], heap[parent]] = [heap[parent], heap[at]];
        at = parent;
      }
    } else if (v > heap[0]) {
      heap[0] = v;
      siftDown(0);
    }
  }
  return heap[0];
}

/**
 * Nucleus sampling with HF's exact rule: sort ascending, remove every token whose ascending
 * cumulative probability is <= 1 - p, but never the `minKeep` most likely. The survivors are the
 * smallest set of top tokens whose mass reaches p.
 */
export function topP(p: number, minKeep = 1): Sampler {
  return stateless("top-p", (c) => {
    computeProbs(c);
    // Tokens outside a set already holding more than p are removed whatever the order; dropping
    // them first spares sorting the whole vocabulary. Their mass starts the ascending sum.
    let cumulative = c.sorted ? 0 : dropCertainTail(c, p, minKeep);
    sortByLogit(c);
    // Walk from the least likely token up; the removed tokens form a suffix of the sorted set.
    let n = c.size;
    for (let i = c.size - 1; i >= minKeep; i--) {
      cumulative += c.probs[i];
      if (cumulative > 1 - p) break;
      n = i;
    }
    keepFirst(c, n);
  });
}

/**
 * For a large unsorted set: finds a probability floor above which the mass exceeds p (with margin),
 * removes every token below it and returns their total probability (probs stay as they were).
 */
function dropCertainTail(c: CandidateSet, p: number, minKeep: number): number {
  if (c.size <= 1024) return 0;
  let top = 0;
  for (let i = 0; i < c.size; i++) top = Math.max(top, c.probs[i]);
  for (let floor = top * 1e-3; floor > 1e-12; floor /= 30) {
    let mass = 0;
    let count = 0;
    for (let i = 0; i < c.size; i++) {
      if (c.probs[i] >= floor) {
        mass += c.probs[i];
        count++;
      }
    }
    if (mass < p + 1e-6 || count < minKeep) continue;
    let tail = 0;
    for (let i = 0; i < c.size; i++) if (c.probs[i] < floor) tail += c.probs[i];
    retain(c, (i) => c.probs[i] >= floor);
    return tail;
  }
  return 0;
}

/** Removes tokens whose probability is below `p` times the top token's (always keeps `minKeep`). */
export function minP(p: number, minKeep = 1): Sampler {
  return stateless("min-p", (c) => {
    computeProbs(c);
    let top = 0;
    for (let i = 0; i < c.size; i++) top = Math.max(top, c.probs[i]);
    const threshold = p * top;
    let above = 0;
    for (let i = 0; i < c.size; i++) if (c.probs[i] >= threshold) above++;
    if (above >= minKeep) {
      retain(c, (i) => c.probs[i] >= threshold);
      return;
    }
    sortByLogit(c); // fewer than minKeep pass: keep the minKeep most likely
    keepFirst(c, minKeep);
  });
}

/**
 * Locally typical sampling (Meister et al.) as HF computes it: rank tokens by |-log p - H|, keep the
 * lowest-ranked ones until their mass reaches `mass`; tokens tied with the last kept rank survive too.
 */
export function typical(mass: number, minKeep = 1): Sampler {
  return stateless("typical", (c) => {
    computeProbs(c);
    let entropy = 0;
    for (let i = 0; i < c.size; i++) if (c.probs[i] > 0) entropy -= c.probs[i] * Math.log(c.probs[i]);
    const shifted = new Float64Array(c.size);
    for (let i = 0; i < c.size; i++) shifted[i] = Math.abs(-Math.log(c.probs[i]) - entropy);
    const order = new Int32Array(c.size);
    for (let i = 0; i < c.size; i++) order[i] = i;
    order.sort((a, b) => shifted[a] - shifted[b] || c.ids[a] - c.ids[b]);
    // lastIndex = how many sorted tokens have cumulative mass < `mass`, clamped to the last one.
    let cumulative = 0;
    let below = 0;
    for (let r = 0; r < c.size; r++) {
      cumulative += c.probs[order[r]];
      if (cumulative < mass) below++;
    }
    const limit = shifted[order[Math.min(below, c.size - 1)]];
    const sortedShift = Float64Array.from(order, (i) => shifted[i]);
    permute(c, order);
    c.sorted = false;
    retain(c, (r) => r < minKeep || sortedShift[r] <= limit);
  });
}
