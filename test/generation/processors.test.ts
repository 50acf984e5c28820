import { test } from "node:test";
import assert from "node:assert/strict";
import { candidatesFromScores } from "../../src/generation/candidates.js";
import { minLength, minNewTokens, noRepeatNgram, repetitionPenalty } from "../../src/generation/processors.js";
import type { Sampler } from "../../src/generation/sampler.js";
import { createRng } from "../../src/generation/rng.js";
import { LoomError } from "../../src/errors.js";
import { noRepeatNgramRef, repetitionPenaltyRef, survivors, type Dense } from "./reference.js";

function run(sampler: Sampler, scores: Dense): Dense {
  const set = candidatesFromScores(scores);
  sampler.apply(set);
  const out = scores.map(() => -Infinity);
  for (let k = 0; k < set.size; k++) out[set.ids[k]] = set.logits[k];
  return out;
}

function learned<S extends Sampler>(sampler: S, history: number[]): S {
  for (const t of history) sampler.accept?.(t);
  return sampler;
}

test("repetition penalty divides positive and multiplies negative scores of seen tokens, once each", () => {
  const s = learned(repetitionPenalty(2), [0, 1, 0, 0]);
  assert.deepEqual(run(s, [2, -2, 1, 0.5]), [1, -4, 1, 0.5]);
  const reward = learned(repetitionPenalty(0.5), [2]);
  assert.deepEqual(run(reward, [2, -2, 1, 0.5]), [2, -2, 2, 0.5]);
});

test("no-repeat-ngram bans the tokens that would complete a seen n-gram", () => {
  const history = [1, 2, 3, 1, 2];
  assert.deepEqual(survivors(run(learned(noRepeatNgram(3), history), [0, 0, 0, 0, 0])), [0, 1, 2, 4]); // (1,2)->3
  assert.deepEqual(survivors(run(learned(noRepeatNgram(2), history), [0, 0, 0, 0, 0])), [0, 1, 2, 4]); // (2)->3
  assert.deepEqual(survivors(run(learned(noRepeatNgram(1), history), [0, 0, 0, 0, 0])), [0, 4]); // every seen token
  assert.deepEqual(survivors(run(learned(noRepeatNgram(4), history), [0, 0, 0, 0, 0])), [0, 1, 2, 3, 4]); // (3,1,2) unseen
  assert.deepEqual(survivors(run(learned(noRepeatNgram(3), [1]), [0, 0, 0])), [0, 1, 2]); // too short to repeat
});

test("repetition penalty and no-repeat-ngram equal HF's formulas on random histories", () => {
  const rng = createRng(3);
  for (let trial = 0; trial < 200; trial++) {
    const vocab = 2 + Math.floor(rng.uniform() * 6);
    const history = Array.from({ length: Math.floor(rng.uniform() * 14) }, () => Math.floor(rng.uniform() * vocab));
    const scores = Array.from({ length: vocab }, () => (rng.uniform() * 2 - 1) * 4);
    const n = 1 + Math.floor(rng.uniform() * 4);
    const penalty = 0.3 + rng.uniform() * 2;
    assert.deepEqual(run(learned(repetitionPenalty(penalty), history), scores), repetitionPenaltyRef(scores, history, penalty));
    const reference = noRepeatNgramRef(scores, history, n);
    if (survivors(reference).length === 0) {
      assert.throws(() => run(learned(noRepeatNgram(n), history), scores), LoomError);
    } else {
      assert.deepEqual(run(learned(noRepeatNgram(n), history), scores), reference, `n=${n} history=${history}`);
    }
  }
});

test("min length bans every EOS id until the sequence, prompt included, is long enough", () => {
  const s = learned(minLength([0, 3], 4), [5, 5]); // a 2-token prompt
  assert.deepEqual(survivors(run(s, [0, 0, 0, 0, 0, 0])), [1, 2, 4, 5]);
  s.accept?.(1);
  assert.deepEqual(survivors(run(s, [0, 0, 0, 0, 0, 0])), [1, 2, 4, 5]); // length 3 < 4
  s.accept?.(1);
  assert.deepEqual(survivors(run(s, [0, 0, 0, 0, 0, 0])), [0, 1, 2, 3, 4, 5]);
  // Left padding counts toward the length, as in HF's padded batch.
  assert.deepEqual(survivors(run(learned(minLength([0], 4, 2), [5, 5]), [0, 0])), [0, 1]);
});

test("min new tokens bans EOS until that many tokens follow the prompt", () => {
  const s = learned(minNewTokens([0], 2, 3), [4, 4, 4]);
  assert.deepEqual(survivors(run(s, [0, 0])), [1]);
  s.accept?.(1);
  assert.deepEqual(survivors(run(s, [0, 0])), [1]);
  s.accept?.(1);
  assert.deepEqual(survivors(run(s, [0, 0])), [0, 1]);
});

test("clones carry the learned state and then diverge", () => {
  const original = learned(repetitionPenalty(2), [1]);
  const copy = original.clone();
  copy.accept?.(2);
  assert.deepEqual(run(original, [1, 1, 1]), [1, 0.5, 1]);
  assert.deepEqual(run(copy, [1, 1, 1]), [1, 0.5, 0.5]);
  const ngram = learned(noRepeatNgram(2), [1, 2, 1]);
  const fork = ngram.clone();
  fork.accept?.(0);
  assert.deepEqual(survivors(run(ngram, [0, 0, 0])), [0, 1]); // after 1 comes never 2 again
  assert.deepEqual(survivors(run(fork, [0, 0, 0])), [0, 1, 2]); // after 0 anything goes
  const min = learned(minLength([0], 3), [1, 1]);
  const longer = min.clone();
  longer.accept?.(1);
  assert.deepEqual(survivors(run(min, [0, 0])), [1]);
  assert.deepEqual(survivors(run(longer, [0, 0])), [0, 1]);
});

test("banning every token is a clear error, not an empty draw", () => {
  assert.throws(() => run(learned(minLength([0], 5), [1]), [0]), /minLength=5 banned every remaining token/);
});
