/**
 * Llama 3 RoPE scaling through conversion: an HF config with rope_scaling {rope_type: "llama3"}
 * becomes a `rope_freqs.weight` tensor in GGUF (as llama.cpp's converter writes it). llama.cpp
 * running Loom's converted file must agree with Loom running the HF folder (where the scaling is
 * computed from config.json) — and the scaling must actually matter for this model.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertHFToGGUF } from "../../src/convert/index.js";
import { loadCausalLM } from "../../src/models/load.js";
import { openGGUF } from "../../src/weights/gguf.js";
import { ensureFixtures, type Fixtures } from "../../scripts/make-fixtures.js";
import { getLlamaCpp, openLlamaCpp } from "./llamacpp.js";
import { compareSteps, loomSteps } from "./loom.js";
import { PROMPTS } from "./prompts.js";

const dir = mkdtempSync(join(tmpdir(), "loom-llama3-"));
let fixtures: Fixtures;
before(async () => {
  fixtures = await ensureFixtures();
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await (await getLlamaCpp()).dispose();
});

test("llama3 rope scaling: llama.cpp on the converted GGUF equals Loom on the HF folder", async (t) => {
  // The llama fixture (head size 16, theta 10000) with an original context of 64 positions puts its
  // 8 frequencies in all three llama3 bands: kept, blended and slowed by `factor`.
  const plain = fixtures.models.llama.hf;
  const folder = join(dir, "llama3");
  mkdirSync(folder);
  const config = JSON.parse(readFileSync(join(plain, "config.json"), "utf8")) as Record<string, unknown>;
  config.rope_scaling = { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
  writeFileSync(join(folder, "config.json"), JSON.stringify(config));
  for (const name of ["model.safetensors", "tokenizer.json", "tokenizer_config.json"]) symlinkSync(join(plain, name), join(folder, name));
  const gguf = join(dir, "llama3-f32.gguf");
  convertHFToGGUF(folder, gguf, { dtype: "f32" });

  const file = openGGUF(gguf);
  const factors = Array.from(new Float32Array(file.get("rope_freqs.weight").bytes.slice().buffer));
  file.close?.();
  t.diagnostic(`rope_freqs: ${factors.map((f) => f.toFixed(3)).join(", ")}`);
  assert.equal(factors.length, 8);
  assert.ok(factors.includes(1) && factors.includes(8) && factors.some((f) => f > 1 && f < 8));

  const prompt = PROMPTS[2].ids;
  const oracle = await openLlamaCpp(gguf);
  try {
    const expected = await oracle.greedy(prompt, 32);
    const loom = await loomSteps(await loadCausalLM(folder), prompt, 32, expected.map((s) => s.token));
    const c = compareSteps(loom, expected, 1e-3);
    t.diagnostic(`same greedy token at ${c.sameTokens}/32 steps, max |Δlogprob| ${c.maxLogprobDiff.toExponential(2)}`);
    assert.equal(c.firstDifference, -1);
    assert.ok(c.maxLogprobDiff < 1e-3, `max |Δlogprob| ${c.maxLogprobDiff}`);

    // Guard: without the scaling the model predicts differently, so the check above is not vacuous.
    const unscaled = await loomSteps(await loadCausalLM(plain), prompt, 32, expected.map((s) => s.token));
    const shift = Math.max(...unscaled.map((s, i) => Math.abs(s.logprob(expected[i].token) - expected[i].top[0].logprob)));
    assert.ok(shift > 1e-2, `scaling changes log-probs by only ${shift}`);
  } finally {
    await oracle.dispose();
  }
});
