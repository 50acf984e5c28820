/**
 * llama.cpp as the oracle for each new family's GGUF file: greedy ids and top-5 log-probabilities
 * after a 1,500-token prompt (far longer than the sliding window and the original RoPE context),
 * then decoding. The same file is loaded by Loom, so both read the very same bytes.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCausalLM } from "../../src/models/load.js";
import { tokenSequence } from "../models/run.js";
import { ggufTensors } from "./build.js";
import { ggufMetadata, randomWeights, syntheticVocabMetadata, type Spec } from "./fixtures.js";
import { compareSteps, llamaCppGreedy, loomGreedy, writeModelFile } from "./oracle.js";

const dir = mkdtempSync(join(tmpdir(), "loom-families-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = 1500;
const STEPS = 8;
const CONTEXT = 2048;

const BASE = { vocab: 300, hidden: 64, ff: 128, maxPositions: CONTEXT, eps: 1e-6, tied: false } as const;

/** The RoPE-scaling cases use a 600-token prompt past a 128-token original context (the time budget). */
const CASES: { label: string; spec: Spec; tolerance: number; prompt?: number }[] = [
  {
    // Six layers: five sliding (window 128, local base 10000) and one global (θ 1e6, linear ×4); soft-capped logits.
    label: "gemma3 (5:1 local/global, window 128, linear scaling on global layers, final soft-cap)",
    spec: {
      ...BASE, family: "gemma3", layers: 6, heads: 4, kvHeads: 2, headDim: 16, theta: 1_000_000, window: 128,
      // An untied head: with a tied one, greedy decoding of random weights echoes its last token.
      finalSoftCap: 10, ropeScaling: { rope_type: "linear", factor: 4 }, tied: false,
    },
    // llama.cpp's CPU GELU goes through an f16 table (measured ~5e-4 here; a window off by one gives ~6e-2).
    tolerance: 5e-3,
  },
  {
    label: "qwen3 (q/k norms, head_dim 24 ≠ hidden/heads)",
    spec: { ...BASE, family: "qwen3", layers: 3, heads: 4, kvHeads: 2, headDim: 24, theta: 1_000_000 },
    tolerance: 2e-4,
  },
  {
    label: "qwen3 with YaRN ×4 from a 128-token original context",
    spec: {
      ...BASE, family: "qwen3", layers: 2, heads: 4, kvHeads: 2, headDim: 16, theta: 10000,
      ropeScaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 128 },
    },
    tolerance: 2e-4,
    prompt: 600,
  },
  {
    label: "llama with llama3 scaling (rope_freqs tensor)",
    spec: {
      ...BASE, family: "llama", layers: 2, heads: 4, kvHeads: 2, headDim: 16, theta: 500000,
      ropeScaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 128 },
    },
    tolerance: 2e-4,
    prompt: 600,
  },
  {
    label: "llama with linear scaling ×2",
    spec: { ...BASE, family: "llama", layers: 2, heads: 4, kvHeads: 1, headDim: 16, theta: 10000, ropeScaling: { rope_type: "linear", factor: 2 } },
    tolerance: 2e-4,
    prompt: 600,
  },
];

CASES.forEach(({ label, spec, tolerance, prompt: promptLength = PROMPT }, i) => {
  test(`llama.cpp agrees on ${label}: greedy ids and top-5 log-probs after a ${promptLength}-token prompt`, async (t) => {
    const path = join(dir, `case${i}.gguf`);
    writeModelFile(path, [...ggufMetadata(spec), ...syntheticVocabMetadata(spec.vocab)], ggufTensors(spec, randomWeights(spec, 70 + i)));
    // Ids from 3 up: no control tokens in the prompt.
    const prompt = tokenSequence(promptLength, spec.vocab - 3, 13 + i).map((id) => id + 3);
    const theirs = await llamaCppGreedy(path, prompt, STEPS, CONTEXT);
    const ours = await loomGreedy(await loadCausalLM(path), prompt, STEPS);
    const a = compareSteps(ours, theirs);
    t.diagnostic(`${a.steps} steps; same greedy ids: ${a.sameTokens}; max |Δ top-5 log-prob| ${a.maxLogprobDiff.toExponential(2)}; `
      + `top-5 sets differing: ${a.topSetMismatches}; ids ${ours.map((s) => s.token).join(",")}`);
    assert.ok(a.steps >= 1);
    assert.ok(a.sameTokens, `greedy ids differ: loom ${ours.map((s) => s.token)} llama.cpp ${theirs.map((s) => s.token)}`);
    assert.ok(a.maxLogprobDiff < tolerance, `max log-prob diff ${a.maxLogprobDiff}`);
  });
});
