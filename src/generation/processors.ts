/**
 * HF's logits processors that run whether or not we sample, as stateful samplers: each learns the
 * sequence (prompt included, as in HF) through `accept`.
 */
import { removeTokens, type CandidateSet } from "./candidates.js";
import type { Sampler } from "./sampler.js";

/**
 * CTRL's repetition penalty, once per distinct token seen: a positive score is divided by the
 * penalty, a negative one multiplied (so a penalty > 1 always makes the token less likely).
 */
export function repetitionPenalty(penalty: number, seen: Set<number> = new Set()): Sampler {
  return {
    name: "repetition-penalty",
    apply(c: CandidateSet) {
      if (seen.size === 0) return;
      for (let i = 0; i < c.size; i++) {
        if (!seen.has(c.ids[i])) continue;
        const s = c.logits[i];
        c.logits[i] = s < 0 ? s * penalty : s / penalty;
      }
      c.sorted = false;
    },
    accept(token) {
      seen.add(token);
    },
    clone() {
      return repetitionPenalty(penalty, new Set(seen));
    },
  };
}

/**
 * Bans every token that would complete an n-gram already present in the sequence. With n = 1 that
 * is every token seen so far.
 */
export function noRepeatNgram(n: number, history: number[] = [], followers = new Map<string, Set<number>>()): Sampler {
  const key = (end: number): string => history.slice(end - (n - 1), end).join(",");
  return {
    name: "no-repeat-ngram",
    apply(c) {
      if (history.length + 1 < n) return;
      const banned = followers.get(key(history.length));
      if (banned) removeTokens(c, banned, `noRepeatNgramSize=${n}`);
    },
    accept(token) {
      history.push(token);
      if (history.length < n) return;
      const prefix = key(history.length - 1);
      let next = followers.get(prefix);
      if (!next) followers.set(prefix, (next = new Set()));
      next.add(token);
    },
    clone() {
      const copy = new Map<string, Set<number>>();
      for (const [k, v] of followers) copy.set(k, new Set(v));
      return noRepeatNgram(n, history.slice(), copy);
    },
  };
}

/**
 * Bans end-of-sequence while the sequence (prompt included) is shorter than `minLength`.
 * `alreadyCounted` starts the count (a left-padded batch row counts its padding, as HF does).
 */
export function minLength(eosTokenIds: readonly number[], length: number, alreadyCounted = 0): Sampler {
  const eos = new Set(eosTokenIds);
  let count = alreadyCounted;
  const self: Sampler = {
    name: "min-length",
    apply(c) {
      if (count < length) removeTokens(c, eos, `minLength=${length}`);
    },
    accept() {
      count++;
    },
    clone() {
      return minLength(eosTokenIds, length, count);
    },
  };
  return self;
}

/** Bans end-of-sequence until `minNew` tokens follow the prompt. */
export function minNewTokens(eosTokenIds: readonly number[], minNew: number, promptLength: number, accepted = 0): Sampler {
  const eos = new Set(eosTokenIds);
  let count = accepted;
  return {
    name: "min-new-tokens",
    apply(c) {
      if (count - promptLength < minNew) removeTokens(c, eos, `minNewTokens=${minNew}`);
    },
    accept() {
      count++;
    },
    clone() {
      return minNewTokens(eosTokenIds, minNew, promptLength, count);
    },
  };
}
