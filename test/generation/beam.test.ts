import { test } from "node:test";
import assert from "node:assert/strict";
import { beamSearch, type BeamHypothesis } from "../../src/generation/beam.js";
import { lengthBudget, resolveGenerationOptions, type EarlyStopping, type GenerationOptions } from "../../src/generation/options.js";
import { createRng } from "../../src/generation/rng.js";
import { generate } from "../../src/generation/generate.js";
import { FakeModel, logSoftmaxSlow } from "./fakes.js";
import { noRepeatNgramRef, repetitionPenaltyRef, type Dense } from "./reference.js";

async function runBeams(model: FakeModel, prompt: number[], options: GenerationOptions): Promise<BeamHypothesis[]> {
  const o = resolveGenerationOptions(options, { modelConfig: model.config });
  const budget = lengthBudget(o, prompt.length, model.config.maxPositions);
  return beamSearch({ model, prompt, options: o, ...budget, padding: 0, rng: createRng(o.seed ?? 0) });
}

/** Every finished continuation (ended by EOS, or by reaching maxNew tokens) with its HF score. */
function enumerate(model: FakeModel, prompt: number[], eos: number[], maxNew: number, lp: number): { tokens: number[]; score: number }[] {
  const out: { tokens: number[]; score: number }[] = [];
  const walk = (tokens: number[], sum: number): void => {
    const logp = logSoftmaxSlow(model.logitsAfter([...prompt, ...tokens]));
    logp.forEach((l, t) => {
      const next = [...tokens, t];
      if (eos.includes(t) || next.length === maxNew) out.push({ tokens: next, score: (sum + l) / next.length ** lp });
      else walk(next, sum + l);
    });
  };
  walk([], 0);
  return out.sort((a, b) => b.score - a.score);
}

test("wide beams return exactly the best complete continuations found by brute force", async () => {
  const model = new FakeModel({ vocabSize: 5, eosTokenId: 0, eosBias: 0.5, seed: 11 });
  const prompt = [1, 2];
  for (const lengthPenalty of [-1, 0, 0.5, 1, 2]) {
    const all = enumerate(model, prompt, [0], 3, lengthPenalty);
    for (const earlyStopping of [true, false, "never"] as EarlyStopping[]) {
      // 80 beams never prune here (at most 16 running x 5 tokens real candidates per step).
      const beams = await runBeams(model, prompt, { numBeams: 80, numReturnSequences: 80, maxNewTokens: 3, lengthPenalty, earlyStopping });
      const expected = all.slice(0, 80);
      assert.deepEqual(beams.map((b) => b.tokens), expected.map((e) => e.tokens), `lp=${lengthPenalty} es=${earlyStopping}`);
      beams.forEach((b, i) => assert.ok(Math.abs(b.score - expected[i].score) < 1e-9, `score ${i}`));
    }
  }
});

interface ReferenceOptions {
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  maxNew: number;
  eos: number[];
  /** HF processors, applied to the log-probabilities of `history` (prompt + generated). */
  process?: (logp: Dense, history: number[], generated: number) => Dense;
}

/**
 * HF's beam search rules written out the slow way: every (beam, token) pair scored from scratch
 * (no cache), fully sorted, the rules of `_beam_search` applied one by one.
 */
function referenceBeams(model: FakeModel, prompt: number[], r: ReferenceOptions): { tokens: number[]; score: number }[] {
  const V = model.config.vocabSize;
  const B = r.numBeams;
  const K = Math.max(2, 1 + r.eos.length) * B;
  let running = Array.from({ length: B }, (_, b) => ({ tokens: [] as number[], score: b === 0 ? 0 : -1e9 }));
  let finished = Array.from({ length: B }, () => ({ tokens: [] as number[], score: -1e9, done: false }));
  let open = true;
  for (let generated = 1; ; generated++) {
    const pairs: { parent: number; token: number; sum: number; index: number }[] = [];
    running.forEach((beam, b) => {
      let logp = logSoftmaxSlow(model.logitsAfter([...prompt, ...beam.tokens]));
      if (r.process) logp = r.process(logp, [...prompt, ...beam.tokens], beam.tokens.length);
      logp.forEach((l, t) => pairs.push({ parent: b, token: t, sum: l + beam.score, index: b * V + t }));
    });
    pairs.sort((x, y) => y.sum - x.sum || x.index - y.index);
    const top = pairs.slice(0, K).map((p) => ({
      ...p,
      tokens: [...running[p.parent].tokens, p.token],
      hit: r.eos.includes(p.token) || generated >= r.maxNew,
    }));
    const nextRunning = top
      .map((c, k) => ({ tokens: c.tokens, score: c.sum + (c.hit ? -1e9 : 0), k }))
      .sort((x, y) => y.score - x.score || x.k - y.k)
      .slice(0, B);
    const fullBefore = finished.every((f) => f.done);
    const fresh = top.map((c, k) => ({
      tokens: c.tokens,
      score:
        c.sum / generated ** r.lengthPenalty +
        (fullBefore && r.earlyStopping === true ? -1e9 : 0) +
        (open ? 0 : -1e9) +
        (c.hit && k < B ? 0 : -1e9),
      done: c.hit && k < B,
    }));
    finished = [...finished, ...fresh]
      .map((f, i) => ({ ...f, i }))
      .sort((x, y) => y.score - x.score || x.i - y.i)
      .slice(0, B);
    const length = r.earlyStopping === "never" && r.lengthPenalty > 0 ? r.maxNew : generated;
    const best = nextRunning[0].score / length ** r.lengthPenalty;
    const worst = Math.min(...finished.map((f) => f.score));
    open = open && finished.some((f) => best > (f.done ? worst : -1e9));
    if (!open || (finished.every((f) => f.done) && r.earlyStopping === true) || top.every((c) => c.hit)) break;
    running = nextRunning;
  }
  return finished;
}

test("narrow beams follow HF's rules step for step: every length penalty and early-stopping mode", async () => {
  const outcomes = new Map<string, Map<EarlyStopping, string>>();
  for (const seed of [1, 2, 3, 4]) {
    const model = new FakeModel({ vocabSize: 6, eosTokenId: 0, eosBias: 0.8, seed });
    const prompt = [1, 2, 3];
    for (const numBeams of [2, 3]) {
      for (const lengthPenalty of [-0.5, 0, 1, 2]) {
        for (const earlyStopping of [true, false, "never"] as EarlyStopping[]) {
          const label = `seed=${seed} beams=${numBeams} lp=${lengthPenalty} es=${earlyStopping}`;
          const ours = await runBeams(model, prompt, { numBeams, numReturnSequences: numBeams, maxNewTokens: 5, lengthPenalty, earlyStopping });
          const expected = referenceBeams(model, prompt, { numBeams, lengthPenalty, earlyStopping, maxNew: 5, eos: [0] });
          assert.deepEqual(ours.map((h) => h.tokens), expected.map((e) => e.tokens), label);
          ours.forEach((h, i) => assert.ok(Math.abs(h.score - expected[i].score) < 1e-9, `${label} score ${i}`));
          const key = `${seed}/${numBeams}/${lengthPenalty}`;
          if (!outcomes.has(key)) outcomes.set(key, new Map());
          outcomes.get(key)?.set(earlyStopping, JSON.stringify(ours.map((h) => h.tokens)));
        }
      }
    }
  }
  // The three modes must actually disagree somewhere, or this test would not be testing them.
  const runs = [...outcomes.values()];
  assert.ok(runs.some((m) => m.get(true) !== m.get(false)), "earlyStopping true never differed from false");
  assert.ok(runs.some((m) => m.get(false) !== m.get("never")), "earlyStopping false never differed from never");
});

test("several EOS ids, and processors applied to log-probabilities, match the reference", async () => {
  const model = new FakeModel({ vocabSize: 7, eosTokenId: [0, 1], eosBias: 0.5, seed: 5 });
  const prompt = [2, 3, 2];
  const process = (logp: Dense, history: number[], generated: number): Dense => {
    let s = repetitionPenaltyRef(logp, history, 1.4);
    s = noRepeatNgramRef(s, history, 2);
    if (generated < 2) s = s.map((x, t) => (t === 0 || t === 1 ? -Infinity : x)); // minNewTokens 2
    return s;
  };
  for (const earlyStopping of [true, false, "never"] as EarlyStopping[]) {
    const ours = await runBeams(model, prompt, {
      numBeams: 3,
      numReturnSequences: 3,
      maxNewTokens: 5,
      lengthPenalty: 1,
      earlyStopping,
      repetitionPenalty: 1.4,
      noRepeatNgramSize: 2,
      minNewTokens: 2,
    });
    const expected = referenceBeams(model, prompt, { numBeams: 3, lengthPenalty: 1, earlyStopping, maxNew: 5, eos: [0, 1], process });
    assert.deepEqual(ours.map((h) => h.tokens), expected.map((e) => e.tokens), `es=${earlyStopping}`);
    ours.forEach((h, i) => assert.ok(Math.abs(h.score - expected[i].score) < 1e-9));
    for (const h of ours) assert.ok(h.tokens.length >= 2, "minNewTokens kept EOS away");
  }
});

test("each score is the hypothesis's own log-probability over its length ** lengthPenalty", async () => {
  const model = new FakeModel({ vocabSize: 9, eosTokenId: 0, eosBias: 1, seed: 8 });
  const prompt = [4, 5];
  for (const lengthPenalty of [0.7, 1.5]) {
    const beams = await runBeams(model, prompt, { numBeams: 4, numReturnSequences: 4, maxNewTokens: 6, lengthPenalty });
    for (const h of beams) {
      let sum = 0;
      h.tokens.forEach((t, i) => (sum += logSoftmaxSlow(model.logitsAfter([...prompt, ...h.tokens.slice(0, i)]))[t]));
      assert.ok(Math.abs(h.score - sum / h.tokens.length ** lengthPenalty) < 1e-9);
      assert.equal(h.finishReason, h.tokens.at(-1) === 0 ? "eos" : "length");
    }
    for (let i = 1; i < beams.length; i++) assert.ok(beams[i - 1].score >= beams[i].score, "best first");
  }
});

test("beam sampling is seeded and scores with the warped log-probabilities", async () => {
  const model = new FakeModel({ vocabSize: 12, eosTokenId: 0, eosBias: 0.5, seed: 4 });
  const prompt = [3];
  const options = { numBeams: 3, numReturnSequences: 3, doSample: true, temperature: 0.5, topK: 0, maxNewTokens: 4, seed: 17 };
  const first = await runBeams(model, prompt, options);
  assert.deepEqual(await runBeams(model, prompt, options), first);
  for (const h of first) {
    let sum = 0;
    h.tokens.forEach((t, i) => (sum += logSoftmaxSlow(model.logitsAfter([...prompt, ...h.tokens.slice(0, i)]))[t] / 0.5));
    assert.ok(Math.abs(h.score - sum / h.tokens.length) < 1e-9);
  }
  const others = await Promise.all([18, 19, 20].map((seed) => runBeams(model, prompt, { ...options, seed })));
  assert.ok(others.some((o) => JSON.stringify(o) !== JSON.stringify(first)), "different seeds explore differently");
});

test("generate with beams returns prompt + hypothesis rows, padded, and HF's sequences_scores", async () => {
  const model = new FakeModel({ vocabSize: 6, eosTokenId: 0, eosBias: 1.2, seed: 2, padTokenId: 5 });
  const prompts = [[1, 2, 3], [4]];
  const result = await generate(model, prompts, { numBeams: 3, numReturnSequences: 2, maxNewTokens: 4 });
  assert.equal(result.sequences.length, 4);
  assert.equal(result.scores?.length, 4);
  const width = result.sequences[0].length;
  for (const [row, seq] of result.sequences.entries()) {
    assert.equal(seq.length, width);
    const p = Math.floor(row / 2);
    const prompt = prompts[p];
    const alone = await runBeams(model, prompt, { numBeams: 3, numReturnSequences: 2, maxNewTokens: 4 });
    const h = alone[row % 2];
    const left = 3 - prompt.length;
    assert.deepEqual(seq.slice(0, left + prompt.length), [...Array(left).fill(5), ...prompt]);
    assert.deepEqual(seq.slice(left + prompt.length, left + prompt.length + h.tokens.length), h.tokens);
    assert.ok(seq.slice(left + prompt.length + h.tokens.length).every((t) => t === 5));
    assert.ok(Math.abs((result.scores?.[row] ?? NaN) - h.score) < 1e-12);
  }
});
