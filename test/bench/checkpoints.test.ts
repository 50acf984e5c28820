// The bench's checkpoint generator on tiny shapes: streamed GGUF writing equals writing everything
// at once, the HF folder holds the GGUF file's weights, the cut GPT-2 vocabulary and Llama-2's load
// in Loom and in llama.cpp, and the hand-written WebAssembly sum adds like a plain loop.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchFiles, storedDType, tensorValues, writeBenchGGUF, writeGGUFStreamed } from "../../bench/checkpoints.js";
import { architectureMetadata, tensorSpecs, type BenchModel } from "../../bench/model-specs.js";
import { tensorSeed, ValueStream } from "../../bench/random-weights.js";
import { instantiateSum, sharedMemory } from "../../bench/sum-wasm.js";
import { tokenizerMetadata } from "../../bench/vocab.js";
import { loadModel } from "../../src/engine.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import { maxAbsDiff } from "../kernels/random.js";
import { getLlamaCpp } from "../oracle/llamacpp.js";

const root = mkdtempSync(join(tmpdir(), "loom-bench-"));
after(() => rmSync(root, { recursive: true, force: true }));

const TINY_GPT2: BenchModel = {
  id: "tiny-gpt2", title: "tiny GPT-2",
  shape: { arch: "gpt2", vocab: 300, hidden: 64, layers: 2, heads: 4, ffn: 128, positions: 64 },
  vocab: "gpt2", ggufDTypes: ["f32", "q8_0"], hfFolder: true,
};
const TINY_LLAMA: BenchModel = {
  id: "tiny-llama", title: "tiny Llama",
  shape: { arch: "llama", vocab: 32000, hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 96, positions: 64, ropeTheta: 10000, tied: false },
  vocab: "llama2", ggufDTypes: ["q8_0"], hfFolder: false,
};

test("a value stream filled in chunks equals one whole fill", () => {
  const whole = new Float32Array(1000);
  new ValueStream(tensorSeed(7, "blk.0.ffn_up.weight"), "matrix", 0.02).fill(whole);
  const stream = new ValueStream(tensorSeed(7, "blk.0.ffn_up.weight"), "matrix", 0.02);
  const parts: number[] = [];
  for (const n of [1, 99, 300, 600]) {
    const chunk = new Float32Array(n);
    stream.fill(chunk);
    parts.push(...chunk);
  }
  assert.deepEqual(Float32Array.from(parts), whole);
  const limit = 0.02 * Math.sqrt(3);
  assert.ok(whole.every((v) => Math.abs(v) <= limit), "matrix values stay within ±std·√3");
});

test("streamed GGUF writing gives the bytes of writeGGUF with every tensor in memory", () => {
  const specs = tensorSpecs(TINY_LLAMA.shape);
  const metadata = architectureMetadata(TINY_LLAMA.shape, "tiny", "q8_0");
  const streamed = join(root, "streamed.gguf");
  const direct = join(root, "direct.gguf");
  writeGGUFStreamed(streamed, metadata, specs, (s) => storedDType(s, "q8_0"), 5);
  writeGGUF(direct, { metadata, tensors: specs.map((s) => ({ name: s.name, dtype: storedDType(s, "q8_0"), shape: s.shape, data: tensorValues(s, 5) })) });
  assert.ok(readFileSync(streamed).equals(readFileSync(direct)));
});

test("the HF folder and the F32 GGUF hold the same model; Q8_0 stays close; bench sizes add up", async () => {
  const files = benchFiles(TINY_GPT2, root);
  assert.deepEqual(files.map((f) => f.id), ["tiny-gpt2-f32-hf", "tiny-gpt2-f32", "tiny-gpt2-q8_0"]);
  const prompt = [1, 50, 299, 7, 120];
  const logits = [];
  for (const file of files) {
    const { model, tokenizer } = await loadModel(file.path);
    assert.ok(tokenizer, `${file.id} has a tokenizer`);
    assert.equal(tokenizer.vocabSize, 300);
    logits.push(await model.forward(prompt, 0, model.createCache()));
    model.dispose?.();
  }
  assert.ok(logits[0].every(Number.isFinite));
  assert.ok(maxAbsDiff(logits[0], logits[1]) < 1e-4, `HF vs GGUF F32: ${maxAbsDiff(logits[0], logits[1])}`);
  assert.ok(maxAbsDiff(logits[1], logits[2]) < 0.05, `F32 vs Q8_0: ${maxAbsDiff(logits[1], logits[2])}`);

  // Per token: every tensor but the position table (token_embd is also the output head).
  const s = TINY_GPT2.shape;
  const perLayer = 4 * s.hidden + 3 * s.hidden * s.hidden + 3 * s.hidden + s.hidden * s.hidden + s.hidden + 2 * s.hidden * s.ffn + s.ffn + s.hidden;
  const f32PerToken = 4 * (s.vocab * s.hidden + s.layers * perLayer + 2 * s.hidden);
  assert.equal(files[1].weightBytesPerToken, f32PerToken);
  assert.equal(files[1].weightBytes, f32PerToken + 4 * s.positions * s.hidden);
});

test("llama.cpp loads the generated GGUF files and their vocabularies", async () => {
  const llama2 = join(root, "tiny-llama-q8_0.gguf");
  writeBenchGGUF(TINY_LLAMA, "q8_0", llama2);
  const gpt2 = join(root, "tiny-gpt2-q8_0.gguf"); // written by the test above
  const lcpp = await getLlamaCpp();
  for (const [path, vocab] of [[llama2, 32000], [gpt2, 300]] as const) {
    const model = await lcpp.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      assert.equal(Number(model.fileInfo.tensorInfo?.find((t) => t.name === "token_embd.weight")?.dimensions[1]), vocab);
      const ids = model.tokenize("Hello world");
      assert.ok(ids.length > 0);
      assert.equal(model.detokenize(ids), "Hello world");
    } finally {
      await model.dispose();
    }
  }
  // Loom reads the same tokenizer metadata.
  const meta = tokenizerMetadata("gpt2", 300);
  assert.equal(meta.find((e) => e.key === "tokenizer.ggml.model")?.value, "gpt2");
});

test("the WebAssembly SIMD sum adds like a plain loop", () => {
  const memory = sharedMemory(1 << 16);
  const values = new Float32Array(memory.buffer, 0, 4096);
  for (let i = 0; i < values.length; i++) values[i] = ((i * 37) % 101) / 8; // exact in f32, small sums
  const sum = instantiateSum(memory);
  let expected = 0;
  for (let i = 256; i < 1024; i++) expected += values[i];
  assert.equal(sum(256 * 4, 1024 * 4), expected);
});
