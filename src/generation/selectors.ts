/** The samplers that end a chain by choosing one candidate. */
import { LoomError } from "../errors.js";
import { computeProbs, type CandidateSet } from "./candidates.js";
import type { Rng } from "./rng.js";
import type { Sampler } from "./sampler.js";

function requireCandidates(c: CandidateSet): void {
  if (c.size === 0) throw new LoomError("no candidate token is left to choose from");
}

/** The highest score; ties go to the lowest token id (torch.argmax's first maximum). */
export function greedy(): Sampler {
  const self: Sampler = {
    name: "greedy",
    apply(c) {
      requireCandidates(c);
      const { logits, ids } = c;
      let best = 0, bestLogit = logits[0], bestId = ids[0];
      for (let i = 1; i < c.size; i++) {
        // Every comparison runs on every step: a tie branch that ran only on ties had V8 drop its
        // optimized loop (for lack of type feedback there) on about one token in four, and then
        // finish the vocabulary in the interpreter.
        const logit = logits[i], id = ids[i];
        const higher = logit > bestLogit, tie = logit === bestLogit, lowerId = id < bestId;
        if (higher || (tie && lowerId)) {
          best = i;
          bestLogit = logit;
          bestId = id;
        }
      }
      c.selected = best;
    },
    clone: () => self,
  };
  return self;
}

/** A draw from softmax(scores) with the injected generator (a clone shares the generator). */
export function distribution(rng: Rng): Sampler {
  const self: Sampler = {
    name: "distribution",
    apply(c) {
      requireCandidates(c);
      computeProbs(c);
      const u = rng.uniform();
      let cumulative = 0;
      let chosen = -1;
      for (let i = 0; i < c.size; i++) {
        if (c.probs[i] === 0) continue;
        chosen = i;
        cumulative += c.probs[i];
        if (u < cumulative) break;
      }
      c.selected = chosen; // rounding can leave u above the total: the last possible token takes it
    },
    clone: () => self,
  };
  return self;
}
