/**
 * Beam search as transformers (>= 4.50) runs it, step for step:
 *  - every running beam scores its next token with log_softmax(logits), then the processors (and,
 *    when sampling, the warpers) run on those log-probabilities, and the beam's score is added;
 *  - the best K = max(2, 1 + #EOS) * numBeams (beam, token) pairs are kept (or K are drawn without
 *    replacement from softmax of the sums when sampling);
 *  - a pair that hits a stopping criterion (EOS, a stop string, the length limit) and ranks among the
 *    first numBeams becomes a finished hypothesis scored sum / generatedLength ** lengthPenalty, where
 *    generatedLength counts the new tokens including the last one (HF's cur_len + 1 - prompt_len);
 *  - the best numBeams pairs that did not stop become the next running beams;
 *  - earlyStopping: true stops once numBeams hypotheses are finished; false stops when the best running
 *    beam, scored at the current length, cannot beat the worst finished one; "never" does the same
 *    but, with lengthPenalty > 0, scores the running beam at the longest possible length.
 * Initially beam 0 has score 0 and the others -1e9 (so step one draws from one distribution), exactly
 * as HF does; those placeholder beams can surface only when the vocabulary is tinier than K.
 */
import type { CausalLM, KVCache } from "../models/types.js";
import type { Tokenizer } from "../tokenizers/types.js";
import { createCandidates, denseScores, loadScores } from "./candidates.js";
import { forwardOne, logSoftmax, prefill, throwIfAborted } from "./inputs.js";
import { processorChain } from "./logits-chain.js";
import type { ResolvedGenerationOptions } from "./options.js";
import type { Rng } from "./rng.js";
import type { SamplerChain } from "./sampler.js";
import { containsStopString, type FinishReason } from "./stopping.js";
import { sampleWithoutReplacement, topIndices } from "./top-indices.js";

/** HF's stand-in for "impossible" (added, not assigned, so relative order survives). */
const EXCLUDED = -1.0e9;

export interface BeamHypothesis {
  /** Generated tokens (the prompt not included). */
  tokens: number[];
  /** HF's sequences_scores: sum of processed log-probabilities / generatedLength ** lengthPenalty. */
  score: number;
  finishReason: FinishReason;
}

export interface BeamRun {
  model: CausalLM;
  prompt: readonly number[];
  options: ResolvedGenerationOptions;
  maxNewTokens: number;
  minLength: number;
  padding: number;
  rng: Rng;
  tokenizer?: Tokenizer;
}

interface RunningBeam {
  tokens: number[];
  score: number;
  cache: KVCache;
  chain: SamplerChain;
  logits: Float32Array;
}

interface Candidate {
  parent: number;
  token: number;
  /** Sum of processed log-probabilities, this token included. */
  sum: number;
  tokens: number[];
  hit: boolean;
}

interface Finished {
  tokens: number[];
  score: number;
  finished: boolean;
  reason: FinishReason;
}

/** Returns the best `numReturnSequences` hypotheses, best first. */
export async function beamSearch(run: BeamRun): Promise<BeamHypothesis[]> {
  const { model, prompt, options: o, tokenizer, maxNewTokens } = run;
  const numBeams = o.numBeams;
  const vocab = model.config.vocabSize;
  const eos = new Set(o.eosTokenIds);
  const keep = Math.max(2, 1 + o.eosTokenIds.length) * numBeams;
  const lp = o.lengthPenalty;

  throwIfAborted(o.signal);
  const start = await prefill(model, prompt);
  const rootChain = processorChain(o, { promptLength: prompt.length, padding: run.padding, minLength: run.minLength });
  rootChain.acceptAll(prompt);
  let running: RunningBeam[] = Array.from({ length: numBeams }, (_, b) => ({
    tokens: [],
    score: b === 0 ? 0 : EXCLUDED,
    cache: start.cache,
    chain: rootChain,
    logits: start.logits,
  }));
  let finished: Finished[] = Array.from({ length: numBeams }, () => ({ tokens: [], score: EXCLUDED, finished: false, reason: "length" }));
  let improvementPossible = true;
  const candidatesBuffer = createCandidates(vocab);

  try {
    for (let step = 0; ; step++) {
      throwIfAborted(o.signal);
      // a. accumulated scores of every (beam, token) pair
      const sums = new Float64Array(numBeams * vocab);
      let previous: { beam: RunningBeam; processed: Float64Array } | undefined;
      for (let b = 0; b < numBeams; b++) {
        const beam = running[b];
        let processed: Float64Array;
        if (previous && previous.beam.logits === beam.logits && previous.beam.chain === beam.chain) {
          processed = previous.processed; // the placeholder beams of step one share beam 0's row
        } else {
          loadScores(candidatesBuffer, logSoftmax(beam.logits));
          beam.chain.apply(candidatesBuffer);
          processed = denseScores(candidatesBuffer, vocab);
          previous = { beam, processed };
        }
        for (let t = 0; t < vocab; t++) sums[b * vocab + t] = processed[t] + beam.score;
      }

      // b. the K best (or K sampled) continuations
      const picks = o.doSample ? sampleWithoutReplacement(sums, keep, run.rng) : topIndices(sums, keep);
      const generated = step + 1;
      const candidates: Candidate[] = picks.map((index) => {
        const parent = Math.floor(index / vocab);
        const token = index % vocab;
        const tokens = [...running[parent].tokens, token];
        return { parent, token, sum: sums[index], tokens, hit: false };
      });
      const reasons = candidates.map((c): FinishReason | undefined =>
        eos.has(c.token)
          ? "eos"
          : tokenizer && containsStopString(tokenizer, c.tokens, o.stopStrings)
            ? "stop"
            : generated >= maxNewTokens
              ? "length"
              : undefined,
      );
      candidates.forEach((c, k) => (c.hit = reasons[k] !== undefined));

      // c. the running beams of the next step: the best pairs that did not stop
      const runningScores = candidates.map((c) => c.sum + (c.hit ? EXCLUDED : 0));
      const nextRunning = topIndices(runningScores, numBeams);

      // d. finished hypotheses: merge the new ones into the numBeams best so far
      const allFinishedBefore = finished.every((f) => f.finished);
      const penalty = generated ** lp;
      const merged: Finished[] = [
        ...finished,
        ...candidates.map((c, k) => {
          const isNew = c.hit && k < numBeams;
          let score = c.sum / penalty;
          if (allFinishedBefore && o.earlyStopping === true) score += EXCLUDED;
          if (!improvementPossible) score += EXCLUDED;
          if (!isNew) score += EXCLUDED;
          return { tokens: c.tokens, score, finished: isNew, reason: reasons[k] ?? "length" };
        }),
      ];
      finished = topIndices(
        merged.map((f) => f.score),
        numBeams,
      ).map((i) => merged[i]);

      // e. can the search still improve?
      const bestRunning = runningScores[nextRunning[0]];
      const hypotheticalLength = o.earlyStopping === "never" && lp > 0 ? maxNewTokens : generated;
      const bestPossible = bestRunning / hypotheticalLength ** lp;
      const worstFinished = Math.min(...finished.map((f) => f.score));
      improvementPossible &&= finished.some((f) => bestPossible > (f.finished ? worstFinished : EXCLUDED));
      const allFinished = finished.every((f) => f.finished);
      const goOn = improvementPossible && !(allFinished && o.earlyStopping === true) && !candidates.every((c) => c.hit);
      if (!goOn) break;

      // f. fork caches and processor states for the next running beams, then run their new tokens
      running = await advance(model, running, nextRunning.map((k) => candidates[k]), nextRunning.map((k) => runningScores[k]));
    }
  } finally {
    releaseAll(running.map((r) => r.cache));
  }

  return finished.slice(0, o.numReturnSequences).map((f) => ({ tokens: f.tokens, score: f.score, finishReason: f.reason }));
}

async function advance(model: CausalLM, parents: RunningBeam[], chosen: Candidate[], scores: number[]): Promise<RunningBeam[]> {
  // A parent cache goes to its last child untouched; earlier children get clones (taken before any
  // forward mutates the original).
  const lastUser = new Map<KVCache, number>();
  chosen.forEach((c, i) => lastUser.set(parents[c.parent].cache, i));
  const caches = chosen.map((c, i) => {
    const cache = parents[c.parent].cache;
    return lastUser.get(cache) === i ? cache : cache.clone();
  });
  // Parents no child continues from are done: hand their memory back now.
  releaseAll(parents.map((p) => p.cache).filter((cache) => !lastUser.has(cache)));
  const next: RunningBeam[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const c = chosen[i];
    const chain = parents[c.parent].chain.clone();
    chain.accept(c.token);
    const logits = await forwardOne(model, c.token, caches[i]);
    next.push({ tokens: c.tokens, score: scores[i], cache: caches[i], chain, logits });
  }
  return next;
}

/** Releases each distinct cache once (beams may share one). */
function releaseAll(caches: KVCache[]): void {
  for (const cache of new Set(caches)) cache.release?.();
}
