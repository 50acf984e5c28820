import { test } from "node:test";
import assert from "node:assert/strict";
import { candidatesFromScores, type CandidateSet } from "../../src/generation/candidates.js";
import type { Sampler } from "../../src/generation/sampler.js";
import { minP, temperature, topK, topP, typical } from "../../src/generation/warpers.js";
import { createRng } from "../../src/generation/rng.js";
import { minPRef, survivors, temperatureRef, topKRef, topPRef, typicalRef, type Dense } from "./reference.js";

/** Applies a sampler to a dense score vector (-inf = not a candidate) and returns the dense result. */
function run(sampler: Sampler, scores: Dense): Dense {
  const set: CandidateSet = candidatesFromScores(scores);
  // Start from the finite entries only, as a chain would after earlier processors.
  const finite = scores.map((s, i) => [s, i] as const).filter(([s]) => s !== -Infinity);
  set.size = finite.length;
  finite.forEach(([s, i], k) => {
    set.ids[k] = i;
    set.logits[k] = s;
  });
  sampler.apply(set);
  const out = scores.map(() => -Infinity);
  for (let k = 0; k < set.size; k++) out[set.ids[k]] = set.logits[k];
  return out;
}

const ln = Math.log;

test("temperature divides every score", () => {
  assert.deepEqual(run(temperature(0.5), [1, -2, 0.25]), [2, -4, 0.5]);
});

test("top-k keeps the k best and every token tied with the k-th", () => {
  const scores = [1, 3, 2, 3, 2, 0];
  assert.deepEqual(survivors(run(topK(1), scores)), [1, 3]); // k = 1, but 1 and 3 tie at the top
  assert.deepEqual(survivors(run(topK(2), scores)), [1, 3]);
  assert.deepEqual(survivors(run(topK(3), scores)), [1, 2, 3, 4]); // 2 and 4 tie at the boundary
  assert.deepEqual(survivors(run(topK(99), scores)), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(survivors(run(topK(1, 3), [5, 4, 1, 3])), [0, 1, 3]); // min_tokens_to_keep raises k
});

test("top-p keeps the smallest top set whose mass reaches p, never fewer than one token", () => {
  const scores = [ln(0.5), ln(0.25), ln(0.125), ln(0.125)];
  assert.deepEqual(survivors(run(topP(0.7), scores)), [0, 1]); // 0.5 + 0.25 reaches 0.7
  assert.deepEqual(survivors(run(topP(0.75 - 1e-9), scores)), [0, 1]);
  assert.deepEqual(survivors(run(topP(0.75 + 1e-9), scores)).length, 3); // 0.75 falls short: one 0.125 joins
  assert.deepEqual(survivors(run(topP(0.5 - 1e-9), scores)), [0]);
  assert.deepEqual(survivors(run(topP(0.01), scores)), [0]); // never empty
  assert.deepEqual(survivors(run(topP(0.01, 2), scores)), [0, 1]); // min_tokens_to_keep
  assert.deepEqual(survivors(run(topP(1), scores)), [0, 1, 2, 3]);
  // The boundary tie: among equal scores the higher id is dropped first (torch.sort leaves it open).
  assert.deepEqual(survivors(run(topP(0.8), scores)), [0, 1, 2]);
});

test("min-p removes tokens below p times the top probability", () => {
  const scores = [ln(0.5), ln(0.3), ln(0.15), ln(0.05)];
  assert.deepEqual(survivors(run(minP(0.2), scores)), [0, 1, 2]); // threshold 0.1
  assert.deepEqual(survivors(run(minP(0.7), scores)), [0]); // threshold 0.35
  assert.deepEqual(survivors(run(minP(0.7, 2), scores)), [0, 1]);
  assert.deepEqual(survivors(run(minP(0), scores)), [0, 1, 2, 3]);
});

test("typical keeps tokens whose surprise is closest to the entropy (ties at the limit survive)", () => {
  // H = 0.394: token 0 (|0.105 - H| = 0.29) ranks first, tokens 1 and 2 (2.6) tie after it.
  const peaked = [ln(0.9), ln(0.05), ln(0.05)];
  assert.deepEqual(survivors(run(typical(0.5), peaked)), [0]);
  assert.deepEqual(survivors(run(typical(0.95), peaked)), [0, 1, 2]); // cum 0.9 < 0.95: the tie at rank 1 joins
  // H = 1.089: the two 0.3 tokens (0.115 away) outrank the most likely token (0.173 away).
  const flat = [ln(0.4), ln(0.3), ln(0.3)];
  assert.deepEqual(survivors(run(typical(0.5), flat)), [1, 2]);
  assert.deepEqual(survivors(run(typical(0.2), flat)), [1, 2]); // rank 0 suffices, but rank 1 ties with it
  assert.deepEqual(survivors(run(typical(0.2, 3), flat)), [0, 1, 2]);
});

test("every warper equals HF's dense formula on random distributions, ties and -inf included", () => {
  const rng = createRng(7);
  const cases: [string, (s: Dense) => [Dense, Dense]][] = [];
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(rng.uniform() * 24);
    const quantised = rng.uniform() < 0.4; // rounding creates ties
    const scores = Array.from({ length: n }, () => {
      if (rng.uniform() < 0.1) return -Infinity;
      const x = (rng.uniform() * 2 - 1) * 6;
      return quantised ? Math.round(x) / 2 : x;
    });
    if (scores.every((s) => s === -Infinity)) scores[0] = 0;
    const k = 1 + Math.floor(rng.uniform() * n);
    const p = 0.05 + rng.uniform() * 0.95;
    const keep = 1 + Math.floor(rng.uniform() * 3);
    const t = 0.2 + rng.uniform() * 2;
    cases.push(
      ["temperature", (s) => [run(temperature(t), s), temperatureRef(s, t)]],
      ["top-k", (s) => [run(topK(k, keep), s), topKRef(s, k, keep)]],
      ["top-p", (s) => [run(topP(p, keep), s), topPRef(s, p, keep)]],
      ["min-p", (s) => [run(minP(p, keep), s), minPRef(s, p, keep)]],
      ["typical", (s) => [run(typical(p, keep), s), typicalRef(s, p, keep)]],
    );
    for (const [name, check] of cases.splice(0)) {
      const [ours, reference] = check(scores);
      assert.deepEqual(survivors(ours), survivors(reference), `${name} on ${JSON.stringify(scores)} (k=${k} p=${p} keep=${keep})`);
      for (const i of survivors(ours)) assert.ok(Math.abs(ours[i] - reference[i]) < 1e-12, `${name} score of ${i}`);
    }
  }
});

test("top-p on a large vocabulary (the prefiltered path) still equals HF's formula", () => {
  const rng = createRng(11);
  for (let trial = 0; trial < 12; trial++) {
    const spread = 1 + trial; // from flat to peaked distributions
    const scores = Array.from({ length: 3000 }, () => (rng.uniform() * 2 - 1) * spread);
    for (const p of [0.05, 0.5, 0.9, 0.999]) {
      for (const keep of [1, 3]) {
        assert.deepEqual(survivors(run(topP(p, keep), scores)), survivors(topPRef(scores, p, keep)), `spread=${spread} p=${p}`);
      }
    }
  }
});
