// Quantizing on load (`dtype`) gives the model `loom convert` writes: an HF folder loaded with
// dtype q8_0 / q4_0 / f16 against the GGUF converted from it (same tensors quantized by the same
// rules, position embeddings and norms kept F32, rows that do not fill blocks in F16).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureFixtures, FIXTURE_ARCHS, type Fixtures } from "../../scripts/make-fixtures.js";
import { convertHFToGGUF } from "../../src/convert/index.js";
import { loadCausalLM, type LoadOptions } from "../../src/models/load.js";
import { PROMPTS } from "../oracle/prompts.js";
import { greedyRun, maxLogitDiff } from "./greedy.js";

const STEPS = 16;
const PROMPT = PROMPTS[1].ids;
const root = mkdtempSync(join(tmpdir(), "loom-dtype-"));
after(() => rmSync(root, { recursive: true, force: true }));
let fixtures: Fixtures;
before(async () => {
  fixtures = await ensureFixtures();
});

async function run(path: string, options: LoadOptions = {}) {
  const model = await loadCausalLM(path, options);
  try {
    return await greedyRun(model, PROMPT, STEPS);
  } finally {
    model.dispose?.();
  }
}

for (const arch of FIXTURE_ARCHS) {
  test(`${arch}: an HF folder loaded with dtype q8_0 / q4_0 / f16 equals the GGUF loom convert writes`, async (t) => {
    const hf = fixtures.models[arch].hf;
    for (const dtype of ["q8_0", "q4_0", "f16"] as const) {
      const gguf = dtype === "q4_0" ? join(root, `${arch}-q4_0.gguf`) : fixtures.models[arch].gguf[dtype];
      if (dtype === "q4_0") convertHFToGGUF(hf, gguf, { dtype });
      const converted = await run(gguf);
      const onLoad = await run(hf, { dtype });
      const diff = maxLogitDiff(converted.logits, onLoad.logits);
      t.diagnostic(`${dtype}: max |Δlogit| ${diff.toExponential(2)}`);
      assert.deepEqual(onLoad.ids, converted.ids, `${arch} ${dtype}`);
      // Same weights; what differs is small: Q/K rows permuted for llama's GGUF RoPE, and layer-norm
      // eps read as f32 from GGUF metadata but as a double from config.json.
      assert.ok(diff < 1e-3, `${arch} ${dtype}: max |Δlogit| ${diff}`);
    }
  });
}
