import { test } from "node:test";
import assert from "node:assert/strict";
import { candidatesFromScores } from "../../src/generation/candidates.js";
import { processorChain, selectingChain } from "../../src/generation/logits-chain.js";
import { resolveGenerationOptions, type GenerationOptions } from "../../src/generation/options.js";
import { createRng } from "../../src/generation/rng.js";
import { distribution, greedy } from "../../src/generation/selectors.js";
import { chain } from "../../src/generation/sampler.js";
import { minPRef, repetitionPenaltyRef, survivors, temperatureRef, topKRef, topPRef, typicalRef, type Dense } from "./reference.js";

const noRow = { promptLength: 0, padding: 0, minLength: 0 };

function softmaxOf(scores: Dense): number[] {
  const max = Math.max(...scores);
  const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - max)));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** Upper 0.1% point of the chi-square distribution (Wilson-Hilferty; plenty accurate for df >= 1). */
function chiSquareCritical(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

function draw(options: GenerationOptions, logits: Dense, n: number, seed: number, history: number[] = []): number[] {
  const o = resolveGenerationOptions(options);
  const sampler = selectingChain(o, noRow, createRng(seed));
  sampler.acceptAll(history);
  const counts = logits.map(() => 0);
  for (let i = 0; i < n; i++) {
    const set = candidatesFromScores(logits);
    sampler.apply(set);
    counts[set.ids[set.selected]]++;
  }
  return counts;
}

function checkFrequencies(counts: number[], expected: number[], label: string): void {
  const n = counts.reduce((a, b) => a + b, 0);
  let chi = 0;
  let df = -1;
  counts.forEach((c, i) => {
    if (expected[i] === 0) {
      assert.equal(c, 0, `${label}: token ${i} was removed by the processors but drawn ${c} times`);
      return;
    }
    chi += (c - n * expected[i]) ** 2 / (n * expected[i]);
    df++;
  });
  assert.ok(df >= 2, `${label}: the test needs at least three surviving tokens`);
  assert.ok(chi < chiSquareCritical(df), `${label}: chi-square ${chi.toFixed(2)} >= ${chiSquareCritical(df).toFixed(2)} (df ${df})`);
}

const logits = Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 3) * 0.4);

test("sampled frequencies match temperature -> top-k -> top-p -> min-p (chi-square, fixed seed)", () => {
  const options = { doSample: true, temperature: 0.7, topK: 10, topP: 0.9, minP: 0.05 };
  const processed = minPRef(topPRef(topKRef(temperatureRef(logits, 0.7), 10), 0.9), 0.05);
  checkFrequencies(draw(options, logits, 20000, 1234), softmaxOf(processed), "top-k/top-p/min-p");
});

test("sampled frequencies match repetition penalty -> temperature -> typical", () => {
  const options = { doSample: true, temperature: 1.3, topK: 0, typicalP: 0.8, repetitionPenalty: 1.5 };
  const history = [3, 5, 3];
  const processed = typicalRef(temperatureRef(repetitionPenaltyRef(logits, history, 1.5), 1.3), 0.8);
  checkFrequencies(draw(options, logits, 20000, 99, history), softmaxOf(processed), "typical");
});

test("HF's default top-k of 50 applies when sampling with nothing else set", () => {
  const wide = Array.from({ length: 80 }, (_, i) => -i / 20);
  const counts = draw({ doSample: true }, wide, 3000, 5);
  assert.ok(counts.slice(50).every((c) => c === 0));
  assert.ok(counts.slice(0, 50).filter((c) => c > 0).length > 40);
  const everything = draw({ doSample: true, topK: 0 }, wide, 3000, 5);
  assert.ok(everything.slice(50).some((c) => c > 0));
});

test("the same seed draws the same tokens; another seed does not", () => {
  const options = { doSample: true, temperature: 1.5, topK: 0 };
  assert.deepEqual(draw(options, logits, 500, 42), draw(options, logits, 500, 42));
  const sequence = (seed: number): number[] => {
    const s = chain(distribution(createRng(seed)));
    return Array.from({ length: 50 }, () => {
      const set = candidatesFromScores(logits);
      s.apply(set);
      return set.ids[set.selected];
    });
  };
  assert.deepEqual(sequence(1), sequence(1));
  assert.notDeepEqual(sequence(1), sequence(2));
});

test("greedy takes the highest score, the lowest id among ties, and ignores the warpers", () => {
  const set = candidatesFromScores([1, 4, 2, 4]);
  chain(greedy()).apply(set);
  assert.equal(set.ids[set.selected], 1);
  const o = resolveGenerationOptions({ temperature: 0.01, topK: 1, topP: 0.1 }); // doSample false
  assert.deepEqual(
    selectingChain(o, noRow, createRng(0)).samplers.map((s) => s.name),
    ["greedy"],
  );
});

test("processors run in HF's order, warpers only when sampling", () => {
  const all = {
    doSample: true,
    repetitionPenalty: 1.2,
    noRepeatNgramSize: 3,
    minLength: 5,
    minNewTokens: 2,
    temperature: 0.9,
    topK: 20,
    topP: 0.9,
    minP: 0.1,
    typicalP: 0.9,
    eosTokenId: 0,
  };
  const o = resolveGenerationOptions(all);
  assert.deepEqual(
    selectingChain(o, { promptLength: 1, padding: 0, minLength: 5 }, createRng(0)).samplers.map((s) => s.name),
    ["repetition-penalty", "no-repeat-ngram", "min-length", "min-new-tokens", "temperature", "top-k", "top-p", "min-p", "typical", "distribution"],
  );
  const greedyOnly = resolveGenerationOptions({ ...all, doSample: false });
  assert.deepEqual(
    processorChain(greedyOnly, { promptLength: 1, padding: 0, minLength: 5 }).samplers.map((s) => s.name),
    ["repetition-penalty", "no-repeat-ngram", "min-length", "min-new-tokens"],
  );
  // No EOS known: the EOS masks are left out, as in HF.
  const noEos = resolveGenerationOptions({ minLength: 5 });
  assert.deepEqual(processorChain(noEos, { promptLength: 1, padding: 0, minLength: 5 }).samplers, []);
});

test("beam sampling keeps one more token than there are EOS ids", () => {
  const o = resolveGenerationOptions({ doSample: true, numBeams: 3, topK: 1, eosTokenId: [0, 1] });
  const set = candidatesFromScores([5, 4, 3, 2, 1]);
  processorChain(o, noRow).apply(set);
  assert.deepEqual(survivors(Array.from({ length: 5 }, (_, i) => (Array.from(set.ids.slice(0, set.size)).includes(i) ? 0 : -Infinity))), [0, 1, 2]);
});
