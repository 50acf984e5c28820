/**
 * Each fixture's HF folder (safetensors, HF names and layouts: GPT-2's Conv1D, rotate-half Q/K)
 * and its F32 GGUF twin (written by `loom convert`'s engine) are the same model: Loom gives the
 * same greedy ids and log-probabilities from both. And the fixtures are not degenerate: greedy
 * continuations visit many different tokens, so an engine bug cannot hide behind one repeated id.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadCausalLM } from "../../src/models/load.js";
import { ensureFixtures, FIXTURE_ARCHS, type Fixtures } from "../../scripts/make-fixtures.js";
import { loomSteps } from "./loom.js";
import { PROMPTS } from "./prompts.js";

const STEPS = 32;

let fixtures: Fixtures;
before(async () => {
  fixtures = await ensureFixtures();
});

for (const arch of FIXTURE_ARCHS) {
  test(`${arch}: the HF folder and its F32 GGUF give the same greedy ids and log-probs`, async (t) => {
    const hf = await loadCausalLM(fixtures.models[arch].hf);
    const gguf = await loadCausalLM(fixtures.models[arch].gguf.f32);
    for (const prompt of PROMPTS) {
      const fromHF = await loomSteps(hf, prompt.ids, STEPS);
      const fromGGUF = await loomSteps(gguf, prompt.ids, STEPS);
      const ids = fromHF.map((s) => s.argmax);
      assert.deepEqual(fromGGUF.map((s) => s.argmax), ids, `${arch}, prompt of ${prompt.name}`);
      let maxDiff = 0;
      fromHF.forEach((step, i) => {
        for (const id of step.top(5)) maxDiff = Math.max(maxDiff, Math.abs(step.logprob(id) - fromGGUF[i].logprob(id)));
      });
      const distinct = new Set(ids).size;
      t.diagnostic(`${prompt.name}: ${distinct} distinct tokens in ${STEPS}, max |Δlogprob| ${maxDiff.toExponential(2)}`);
      // Same f32 weights, same kernels: only the Q/K row order (and so the RoPE pairing) and GPT-2's
      // transposes differ, which changes summation order at most.
      assert.ok(maxDiff < 1e-4, `${arch}, prompt of ${prompt.name}: max |Δlogprob| ${maxDiff}`);
      assert.ok(distinct >= 12, `${arch}, prompt of ${prompt.name}: only ${distinct} distinct tokens in ${STEPS} — a degenerate fixture`);
    }
  });
}
