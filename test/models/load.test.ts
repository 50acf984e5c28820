// loadCausalLM on real files written by Loom's own writers: HF folders and their GGUF twins,
// the registry, and every kind of bad input the loader must reject with a clear LoomError.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCausalLM, readModelConfig } from "../../src/models/load.js";
import { supportedArchitectures } from "../../src/models/registry.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import { writeSafetensors, writeSafetensorsSharded } from "../../src/weights/safetensors-write.js";
import type { DType } from "../../src/tensor/tensor.js";
import { maxAbsDiff } from "../kernels/random.js";
import {
  GPT2_SPEC, LLAMA_SPEC, QWEN2_SPEC, gpt2GGUFMetadata, gpt2HFConfig, gpt2ToGGUF, llamaGGUFMetadata, llamaHFConfig,
  llamaToGGUF, randomGPT2, randomLlama, toWrite, type Tensors,
} from "./fixtures.js";
import { fullForward, tokenSequence } from "./run.js";

const root = mkdtempSync(join(tmpdir(), "loom-models-"));
after(() => rmSync(root, { recursive: true, force: true }));

function hfFolder(name: string, config: Record<string, unknown>, tensors: Tensors, sharded = false): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  if (sharded) writeSafetensorsSharded(dir, toWrite(tensors), { maxShardBytes: 20000 });
  else writeSafetensors(join(dir, "model.safetensors"), toWrite(tensors));
  return dir;
}

function ggufFile(name: string, metadata: Parameters<typeof writeGGUF>[1]["metadata"], tensors: Tensors, dtype: DType = "f32"): string {
  const path = join(root, name);
  writeGGUF(path, { metadata, tensors: toWrite(tensors, dtype) });
  return path;
}

const gpt2 = randomGPT2(GPT2_SPEC, 11);
const llama = randomLlama(LLAMA_SPEC, 21);
const qwen2 = randomLlama(QWEN2_SPEC, 31);

const cases = [
  { label: "gpt2", hf: hfFolder("gpt2", gpt2HFConfig(GPT2_SPEC), gpt2), gguf: ggufFile("gpt2.gguf", gpt2GGUFMetadata(GPT2_SPEC), gpt2ToGGUF(gpt2, GPT2_SPEC)) },
  { label: "llama", hf: hfFolder("llama", llamaHFConfig(LLAMA_SPEC), llama, true), gguf: ggufFile("llama.gguf", llamaGGUFMetadata(LLAMA_SPEC), llamaToGGUF(llama, LLAMA_SPEC)) },
  { label: "qwen2", hf: hfFolder("qwen2", llamaHFConfig(QWEN2_SPEC), qwen2), gguf: ggufFile("qwen2.gguf", llamaGGUFMetadata(QWEN2_SPEC), llamaToGGUF(qwen2, QWEN2_SPEC)) },
];

for (const c of cases) {
  test(`${c.label}: the HF folder and its GGUF twin load to the same logits`, async (t) => {
    const hf = await loadCausalLM(c.hf);
    const gguf = await loadCausalLM(c.gguf);
    assert.equal(hf.config.architecture, c.label);
    assert.equal(gguf.config.architecture, c.label);
    const tokens = tokenSequence(12, hf.config.vocabSize, 4);
    const d = maxAbsDiff(await fullForward(hf, tokens), await fullForward(gguf, tokens));
    t.diagnostic(`max diff ${d}`);
    // GGUF stores the rms/layer-norm epsilon as float32; everything else is bit-identical.
    assert.ok(d < 1e-5, `max diff ${d}`);
  });
}

test("readModelConfig reads HF and GGUF configs without building", () => {
  const hf = readModelConfig(cases[1].hf);
  const gguf = readModelConfig(cases[1].gguf);
  for (const c of [hf, gguf]) {
    assert.equal(c.architecture, "llama");
    assert.equal(c.vocabSize, LLAMA_SPEC.vocab);
    assert.equal(c.numKVHeads, LLAMA_SPEC.nKVHeads);
    assert.equal(c.headDim, LLAMA_SPEC.nEmbd / LLAMA_SPEC.nHeads);
  }
});

test("an F16 GGUF loads (dequantized at load) and stays close to F32", async (t) => {
  const f16 = await loadCausalLM(ggufFile("llama-f16.gguf", llamaGGUFMetadata(LLAMA_SPEC), llamaToGGUF(llama, LLAMA_SPEC), "f16"));
  const f32 = await loadCausalLM(cases[1].gguf);
  const tokens = tokenSequence(8, LLAMA_SPEC.vocab, 2);
  const d = maxAbsDiff(await fullForward(f16, tokens), await fullForward(f32, tokens));
  t.diagnostic(`max diff ${d}`);
  assert.ok(d > 0 && d < 0.05, `max diff ${d}`);
});

test("a Q8_0 GGUF loads (dequantized at load; rows not a multiple of 32 stay F16) and stays close to F32", async (t) => {
  const path = join(root, "llama-q8_0.gguf");
  const written = writeGGUF(path, { metadata: llamaGGUFMetadata(LLAMA_SPEC), tensors: toWrite(llamaToGGUF(llama, LLAMA_SPEC), "q8_0") });
  assert.ok(written.some((w) => w.dtype === "q8_0") && written.some((w) => w.dtype === "f16"));
  const q8 = await loadCausalLM(path);
  const f32 = await loadCausalLM(cases[1].gguf);
  const tokens = tokenSequence(8, LLAMA_SPEC.vocab, 2);
  const d = maxAbsDiff(await fullForward(q8, tokens), await fullForward(f32, tokens));
  t.diagnostic(`max diff ${d}`);
  assert.ok(d > 0 && d < 0.1, `max diff ${d}`);
});

// ---- bad input ----

function rejects(promise: Promise<unknown>, ...parts: string[]) {
  return assert.rejects(promise, (e: Error) => {
    assert.equal(e.name, "LoomError", e.stack);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should mention "${p}"`);
    return true;
  });
}

test("config.json with a missing required field names the file and the field", async () => {
  const config = llamaHFConfig(LLAMA_SPEC);
  delete config.intermediate_size;
  const dir = hfFolder("no-ffn", config, llama);
  await rejects(loadCausalLM(dir), join(dir, "config.json"), "intermediate_size");
});

test("config.json with a wrongly typed field is rejected", async () => {
  const dir = hfFolder("bad-type", { ...gpt2HFConfig(GPT2_SPEC), n_head: "four" }, gpt2);
  await rejects(loadCausalLM(dir), "n_head", "number");
});

test("an unknown architecture lists the supported ones", async () => {
  const dir = hfFolder("phi", { ...llamaHFConfig(LLAMA_SPEC), model_type: "phi3", architectures: ["Phi3ForCausalLM"] }, llama);
  await rejects(loadCausalLM(dir), "phi3", ...supportedArchitectures());
  const gguf = ggufFile("falcon.gguf", [{ key: "general.architecture", type: "string", value: "falcon" }], new Map([["token_embd.weight", llama.get("model.embed_tokens.weight")!]]));
  await rejects(loadCausalLM(gguf), "falcon", "gpt2", "llama", "qwen2");
});

test("a missing tensor names the file, the tensor and the expected shape", async () => {
  const tensors = new Map(llama);
  tensors.delete("model.layers.1.mlp.up_proj.weight");
  const dir = hfFolder("missing", llamaHFConfig(LLAMA_SPEC), tensors);
  await rejects(loadCausalLM(dir), dir, "model.layers.1.mlp.up_proj.weight", `[${LLAMA_SPEC.nFF}, ${LLAMA_SPEC.nEmbd}]`);
  const gguf = llamaToGGUF(llama, LLAMA_SPEC);
  gguf.delete("blk.0.attn_k.weight");
  const path = ggufFile("missing.gguf", llamaGGUFMetadata(LLAMA_SPEC), gguf);
  await rejects(loadCausalLM(path), path, "blk.0.attn_k.weight");
});

test("a wrong shape names the file, the tensor and both shapes", async () => {
  const tensors = new Map(llama);
  const kvDim = LLAMA_SPEC.nKVHeads * LLAMA_SPEC.nEmbd / LLAMA_SPEC.nHeads;
  tensors.set("model.layers.0.self_attn.k_proj.weight", { shape: [LLAMA_SPEC.nEmbd, LLAMA_SPEC.nEmbd], data: new Float32Array(LLAMA_SPEC.nEmbd ** 2) });
  const dir = hfFolder("wrong-shape", llamaHFConfig(LLAMA_SPEC), tensors);
  await rejects(loadCausalLM(dir), dir, "model.layers.0.self_attn.k_proj.weight",
    `[${LLAMA_SPEC.nEmbd}, ${LLAMA_SPEC.nEmbd}]`, `[${kvDim}, ${LLAMA_SPEC.nEmbd}]`);
});

test("a vocab_size that disagrees with the embedding is a shape error", async () => {
  const dir = hfFolder("vocab", { ...gpt2HFConfig(GPT2_SPEC), vocab_size: GPT2_SPEC.vocab + 1 }, gpt2);
  await rejects(loadCausalLM(dir), "transformer.wte.weight", `[${GPT2_SPEC.vocab}, ${GPT2_SPEC.nEmbd}]`);
});

test("GGUF metadata missing a required key names the key", async () => {
  const metadata = llamaGGUFMetadata(LLAMA_SPEC).filter((e) => e.key !== "llama.block_count");
  const path = ggufFile("no-blocks.gguf", metadata, llamaToGGUF(llama, LLAMA_SPEC));
  await rejects(loadCausalLM(path), path, "llama.block_count");
});

test("paths that are neither a model folder nor a GGUF file are rejected", async () => {
  await rejects(loadCausalLM(join(root, "nope")), "no such file");
  const empty = join(root, "empty-dir");
  mkdirSync(empty);
  await rejects(loadCausalLM(empty), "config.json");
  const text = join(root, "notes.txt");
  writeFileSync(text, "hello world");
  await rejects(loadCausalLM(text), "GGUF");
  const noWeights = join(root, "no-weights");
  mkdirSync(noWeights);
  writeFileSync(join(noWeights, "config.json"), JSON.stringify(gpt2HFConfig(GPT2_SPEC)));
  await rejects(loadCausalLM(noWeights), "model.safetensors");
});

test("forward rejects bad tokens, a wrong startPos, a foreign cache and an overlong context", async () => {
  const model = await loadCausalLM(cases[0].hf);
  const other = await loadCausalLM(cases[1].hf);
  await rejects(model.forward([1, GPT2_SPEC.vocab], 0, model.createCache()), "token", `${GPT2_SPEC.vocab}`);
  await rejects(model.forward([1, -1], 0, model.createCache()), "-1");
  await rejects(model.forward([1.5], 0, model.createCache()), "1.5");
  await rejects(model.forward([], 0, model.createCache()), "no tokens");
  await rejects(model.forward([1], 3, model.createCache()), "startPos 3");
  await rejects(model.forward([1], 0, other.createCache()), "cache");
  const cache = model.createCache();
  await model.forward(tokenSequence(GPT2_SPEC.nPositions, GPT2_SPEC.vocab, 1), 0, cache);
  await rejects(model.forward([1], GPT2_SPEC.nPositions, cache), `${GPT2_SPEC.nPositions}`, "context");
  // A failed call leaves the cache as it was.
  assert.equal(cache.length, GPT2_SPEC.nPositions);
});
