// The exported files against independent readers: @huggingface/tokenizers for tokenizer.json,
// llama.cpp (node-llama-cpp) for the GGUF — same tokens, same next-token probabilities, same
// greedy continuation as the trainer's own forward pass — and Loom's inference engine for both.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { exportGGUF, exportHF, permuteForAdjacentRope } from "../../src/train/export.js";
import { generateIds } from "../../src/train/generate.js";
import { openSafetensors } from "../../src/weights/safetensors.js";
import { dequantize } from "../../src/tensor/dtypes.js";
import { trainTinyModel, trainerProbabilities, type TinyRun } from "./tiny-run.js";

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
type Token = import("node-llama-cpp").Token;

const dir = mkdtempSync(join(tmpdir(), "loom-train-export-"));
let run: TinyRun;
const PROMPT = "Call me Ishmael. Some years ago, never mind how long";

before(() => {
  run = trainTinyModel();
  const input = { config: run.config, params: run.model.params, vocab: run.vocab, name: "tiny-test" };
  exportHF(join(dir, "hf"), input, "f32");
  exportHF(join(dir, "hf16"), input, "f16");
  exportGGUF(join(dir, "tiny.gguf"), input, "f32");
});
after(() => {
  run?.model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("the HF folder holds a llama config with tied embeddings and the exact weights", () => {
  const config = JSON.parse(readFileSync(join(dir, "hf", "config.json"), "utf8"));
  assert.equal(config.model_type, "llama");
  assert.equal(config.tie_word_embeddings, true);
  assert.equal(config.hidden_size, 64);
  assert.equal(config.num_key_value_heads, 2);
  assert.equal(config.vocab_size, run.vocab.tokens.length);
  const source = openSafetensors(join(dir, "hf", "model.safetensors"));
  assert.equal(source.has("lm_head.weight"), false);
  for (const e of run.model.table) {
    const t = source.get(e.name);
    assert.deepEqual(t.shape, e.shape);
    assert.deepEqual(dequantize(t), Float32Array.from(run.model.params.subarray(e.offset, e.offset + e.size)), e.name);
  }
  // f16 halves the bytes
  assert.ok(statSync(join(dir, "hf16", "model.safetensors")).size < 0.55 * statSync(join(dir, "hf", "model.safetensors")).size);
});

test("@huggingface/tokenizers reads the exported tokenizer.json and gives the trainer's ids", () => {
  const json = JSON.parse(readFileSync(join(dir, "hf", "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "hf", "tokenizer_config.json"), "utf8"));
  const hf = new Tokenizer(json, config);
  for (const text of [PROMPT, run.text.slice(5000, 7000), "  spaces,\ttabs\n\nand <|endoftext|> ünïcödé 123"]) {
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, run.encoder.encode(text));
  }
});

test("the Q/K permutation puts row i and row i + d/2 of each head side by side", () => {
  const rows = 8, cols = 2; // 2 heads of 4 rows
  const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols));
  const p = permuteForAdjacentRope(w, 2, rows, cols);
  assert.deepEqual(Array.from({ length: rows }, (_, r) => p[r * cols]), [0, 2, 1, 3, 4, 6, 5, 7]);
});

test("llama.cpp loads the GGUF: same tokens, same probabilities, same greedy continuation", async (t) => {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: join(dir, "tiny.gguf") });
  // An f32 KV cache: llama.cpp's default f16 cache would round keys and values.
  const context = await model.createContext({
    contextSize: 64, threads: 1, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  try {
    const ids = run.encoder.encode(PROMPT);
    assert.deepEqual(Array.from(model.tokenize(PROMPT)), ids, "tokenization");
    assert.equal(model.detokenize(ids as Token[]), PROMPT);

    // next-token probabilities at every prompt position
    const sequence = context.getSequence();
    const results = await sequence.controlledEvaluate(ids.map((id) => [id as Token, { generateNext: { probabilities: true } }]));
    const ours = trainerProbabilities(run, ids);
    let maxDiff = 0;
    for (let pos = 0; pos < ids.length; pos++) {
      const theirs = results[pos]!.next.probabilities!;
      for (let v = 0; v < run.config.vocabSize; v++) maxDiff = Math.max(maxDiff, Math.abs((theirs.get(v as Token) ?? 0) - ours[pos][v]));
    }
    t.diagnostic(`max |p_llama.cpp − p_trainer| over ${ids.length} positions: ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff < 1e-5, `max probability difference ${maxDiff}`);

    // greedy continuation
    await sequence.clearHistory();
    const theirs: number[] = [];
    for await (const token of sequence.evaluate(ids as Token[], { temperature: 0 })) {
      theirs.push(token);
      if (theirs.length === 24) break;
    }
    const mine = generateIds(run.model, ids, { maxNewTokens: 24, temperature: 0 });
    t.diagnostic(`greedy: ${JSON.stringify(run.encoder.decode(mine))}`);
    assert.deepEqual(theirs, mine);
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
});

for (const [label, file] of [["HF folder", "hf"], ["GGUF", "tiny.gguf"]] as const) {
  test(`Loom's inference engine loads the exported ${label} and computes the trainer's logits`, async () => {
    const { loadModel } = await import("../../src/engine.js");
    const { model, tokenizer } = await loadModel(join(dir, file), { threads: 1 });
    try {
      const ids = run.encoder.encode(PROMPT);
      assert.deepEqual(tokenizer?.encode(PROMPT, { addSpecialTokens: false }), ids, "tokenization");
      const logits = await model.forward(ids, 0, model.createCache(), { logits: "all" });
      run.model.forward(ids, null, 1, ids.length);
      const V = run.config.vocabSize;
      let maxDiff = 0;
      for (let i = 0; i < ids.length * V; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - run.model.logits[i]));
      assert.ok(maxDiff < 1e-3, `max logit difference ${maxDiff}`);
    } finally {
      model.dispose?.();
    }
  });
}
