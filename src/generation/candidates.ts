/**
 * The candidate set every sampler transforms (llama.cpp's llama_token_data_array): parallel arrays of
 * token ids, their scores and probabilities, of which the first `size` entries are alive. Removing a
 * token from the set is how a sampler bans it (HF sets its score to -inf; the two are equivalent for
 * softmax, argmax and every warper).
 */
import { LoomError } from "../errors.js";

export interface CandidateSet {
  /** Token ids; entries at index >= size are dead. */
  ids: Int32Array;
  /** The score of each candidate: raw logits (sampling) or log-probabilities (beam search). */
  logits: Float64Array;
  /** softmax(logits) over the live entries, valid after `computeProbs`. */
  probs: Float64Array;
  size: number;
  /** True when the live entries are ordered by logit, highest first (ties: lower id first). */
  sorted: boolean;
  /** Index (into the arrays, not a token id) chosen by a selector, or -1. */
  selected: number;
}

export function createCandidates(capacity: number): CandidateSet {
  return {
    ids: new Int32Array(capacity),
    logits: new Float64Array(capacity),
    probs: new Float64Array(capacity),
    size: 0,
    sorted: false,
    selected: -1,
  };
}

/** Refills `set` with every token 0..n-1 and its score, growing the buffers when needed. */
export function loadScores(set: CandidateSet, scores: ArrayLike<number>): CandidateSet {
  const n = scores.length;
  if (set.ids.length < n) Object.assign(set, createCandidates(n));
  // The fields first and the loop over locals: V8 compiles this loop on the fly (it is 50k long),
  // and field stores it had not yet seen run after it used to throw that code away on every call.
  set.size = n;
  set.sorted = false;
  set.selected = -1;
  const { ids, logits } = set;
  for (let i = 0; i < n; i++) {
    ids[i] = i;
    logits[i] = scores[i];
  }
  return set;
}

export function candidatesFromScores(scores: ArrayLike<number>): CandidateSet {
  return loadScores(createCandidates(scores.length), scores);
}

/** Orders the live entries by logit, highest first; equal logits keep the lower id first. */
export function sortByLogit(set: CandidateSet): void {
  if (set.sorted) return;
  const n = set.size;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const { ids, logits } = set;
  order.sort((a, b) => logits[b] - logits[a] || ids[a] - ids[b]);
  permute(set, order);
  set.sorted = true;
}

/** Rearranges the live entries so that new position i holds old position order[i]. */
export function permute(set: CandidateSet, order: Int32Array): void {
  const ids = set.ids.slice(0, order.length);
  const logits = set.logits.slice(0, order.length);
  const probs = set.probs.slice(0, order.length);
  for (let i = 0; i < order.length; i++) {
    set.ids[i] = ids[order[i]];
    set.logits[i] = logits[order[i]];
    set.probs[i] = probs[order[i]];
  }
  set.selected = -1;
}

/** Writes softmax(logits) of the live entries into `probs` (max-subtracted, in float64). */
export function computeProbs(set: CandidateSet): void {
  const { logits, probs, size } = set;
  let max = -Infinity;
  for (let i = 0; i < size; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity || Number.isNaN(max)) {
    throw new LoomError(`cannot normalise ${size} candidates: every score is -inf or NaN`);
  }
  let sum = 0;
  for (let i = 0; i < size; i++) {
    probs[i] = Math.exp(logits[i] - max);
    sum += probs[i];
  }
  for (let i = 0; i < size; i++) probs[i] /= sum;
}

/** Keeps the live entries for which `keep(index)` holds, in their current order. */
export function retain(set: CandidateSet, keep: (index: number) => boolean): void {
  let out = 0;
  for (let i = 0; i < set.size; i++) {
    if (!keep(i)) continue;
    set.ids[out] = set.ids[i];
    set.logits[out] = set.logits[i];
    set.probs[out] = set.probs[i];
    out++;
  }
  set.size = out;
  set.selected = -1;
}

/** Keeps the first n live entries. */
export function keepFirst(set: CandidateSet, n: number): void {
  set.size = Math.min(set.size, Math.max(0, n));
  set.selected = -1;
}

/** Removes the given token ids from the set; throws when nothing would be left to choose from. */
export function removeTokens(set: CandidateSet, tokens: ReadonlySet<number>, why: string): void {
  if (tokens.size === 0) return;
  // A byte per token id instead of a Set lookup per candidate, and no copying before the first
  // removal: banning EOS from a 50k-token set each step costs ~50 µs, not ~1 ms.
  let top = -1;
  for (const t of tokens) if (t > top) top = t;
  const banned = new Uint8Array(top + 1);
  for (const t of tokens) if (t >= 0) banned[t] = 1;
  const { ids, logits, probs } = set;
  let out = 0;
  for (let i = 0; i < set.size; i++) {
    const id = ids[i];
    if (id <= top && banned[id] === 1) continue;
    if (out !== i) {
      ids[out] = id;
      logits[out] = logits[i];
      probs[out] = probs[i];
    }
    out++;
  }
  set.size = out;
  set.selected = -1;
  if (set.size === 0) throw new LoomError(`${why} banned every remaining token; nothing is left to generate`);
}

/** The scores as a dense vector over the vocabulary, -inf for tokens no longer in the set. */
export function denseScores(set: CandidateSet, vocabSize: number, out = new Float64Array(vocabSize)): Float64Array {
  out.fill(-Infinity);
  for (let i = 0; i < set.size; i++) out[set.ids[i]] = set.logits[i];
  return out;
}
