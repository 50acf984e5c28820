/**
 * `loom convert` for the new families: an HF folder (config.json, model.safetensors, a small
 * SentencePiece-style tokenizer.json) becomes a GGUF file that Loom reads as the same model and
 * that llama.cpp loads and agrees with.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertHFToGGUF } from "../../src/convert/hf-to-gguf.js";
import { loadCausalLM } from "../../src/models/load.js";
import { writeSafetensors } from "../../src/weights/safetensors-write.js";
import { maxAbsDiff } from "../kernels/random.js";
import { toWrite } from "../models/fixtures.js";
import { tokenSequence } from "../models/run.js";
import { oneShot } from "./build.js";
import { hfConfig, randomWeights, type Spec } from "./fixtures.js";
import { compareSteps, llamaCppGreedy, loomGreedy } from "./oracle.js";

const dir = mkdtempSync(join(tmpdir(), "loom-convert-families-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** <unk>, <s>, </s>, byte fallback pieces, a few words: 270 tokens (the models have 300 rows). */
function tokenizerJson(): unknown {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  "abcdefghijk".split("").forEach((c, i) => { vocab[`\u2581${c}`] = 259 + i; });
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: "1.0",
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "\u2581" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }] },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: [] },
  };
}

function hfFolder(name: string, s: Spec, seed: number): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  writeFileSync(join(folder, "config.json"), JSON.stringify(hfConfig(s)));
  writeSafetensors(join(folder, "model.safetensors"), toWrite(randomWeights(s, seed)));
  writeFileSync(join(folder, "tokenizer.json"), JSON.stringify(tokenizerJson()));
  return folder;
}

const BASE = { vocab: 300, hidden: 32, ff: 64, maxPositions: 1024, eps: 1e-6, tied: false } as const;
const CASES: [string, Spec][] = [
  ["gemma3", {
    ...BASE, family: "gemma3", layers: 4, heads: 2, kvHeads: 1, headDim: 16, theta: 1_000_000, window: 32, pattern: 2,
    localTheta: 20000, finalSoftCap: 8, ropeScaling: { rope_type: "linear", factor: 2 },
  }],
  ["qwen3", {
    ...BASE, family: "qwen3", layers: 2, heads: 4, kvHeads: 2, headDim: 12, theta: 10000,
    ropeScaling: { rope_type: "yarn", factor: 2, original_max_position_embeddings: 128 },
  }],
];

CASES.forEach(([label, spec], i) => {
  test(`convert ${label}: the GGUF is the same model for Loom, and llama.cpp agrees with it`, async (t) => {
    const folder = hfFolder(label, spec, 90 + i);
    const out = join(dir, `${label}.gguf`);
    const result = convertHFToGGUF(folder, out, { dtype: "f32" });
    assert.equal(result.architecture, label);
    assert.deepEqual(result.warnings, []);

    const tokens = tokenSequence(80, spec.vocab - 3, 5 + i).map((id) => id + 3);
    const fromHF = await loadCausalLM(folder);
    const fromGGUF = await loadCausalLM(out);
    const d = maxAbsDiff(await oneShot(fromGGUF, tokens), await oneShot(fromHF, tokens));

    const prompt = tokenSequence(300, spec.vocab - 3, 9 + i).map((id) => id + 3);
    const a = compareSteps(await loomGreedy(fromHF, prompt, 6), await llamaCppGreedy(out, prompt, 6, 1024));
    t.diagnostic(`Loom GGUF vs HF: max |Δlogit| ${d}; llama.cpp on the converted file vs Loom on the HF folder: `
      + `same ids ${a.sameTokens}, max |Δ top-5 log-prob| ${a.maxLogprobDiff.toExponential(2)}`);
    assert.ok(d < 1e-5, `max diff ${d}`);
    assert.ok(a.sameTokens);
    assert.ok(a.maxLogprobDiff < (label === "gemma3" ? 5e-3 : 2e-4), `${a.maxLogprobDiff}`);
  });
});

test("convert gemma3: what llama.cpp cannot express is refused or reported", () => {
  const s: Spec = { ...BASE, family: "gemma3", layers: 2, heads: 2, kvHeads: 1, headDim: 16, theta: 10000, window: 8 };
  const softCapped = hfFolder("softcap", { ...s, attnSoftCap: 20 }, 1);
  assert.throws(() => convertHFToGGUF(softCapped, join(dir, "x.gguf"), { dtype: "f32" }), /attn_logit_softcapping/);
  const scaled = hfFolder("scalar", { ...s, queryPreAttnScalar: 24 }, 1);
  const r = convertHFToGGUF(scaled, join(dir, "y.gguf"), { dtype: "f32" });
  assert.match(r.warnings.join("\n"), /query_pre_attn_scalar/);
});
