// HF folder → GGUF and GGUF → GGUF on tiny models: names, layouts, metadata, storage types, and
// Loom reading the result as the same model. (llama.cpp reading it is test/oracle's job.)
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertCheckpoint, convertHFToGGUF, permutedForAdjacentRope, requantizeGGUF, transposed } from "../../src/convert/index.js";
import { loadCausalLM } from "../../src/models/load.js";
import { dequantize, quantize } from "../../src/tensor/dtypes.js";
import { openGGUF, type GGUFFile } from "../../src/weights/gguf.js";
import { openSafetensorsFolder } from "../../src/weights/safetensors.js";
import { maxAbsDiff } from "../kernels/random.js";
import { END_OF_TEXT, TINY, TOKENIZER_SIZE, VOCAB, tinyConfig, tinyWeights, writeTinyHF, type TinySpec } from "./tiny.js";

const root = mkdtempSync(join(tmpdir(), "loom-convert-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => join(root, `${name}-${counter++}`);

function withGGUF<T>(path: string, body: (file: GGUFFile) => T): T {
  const file = openGGUF(path);
  try {
    return body(file);
  } finally {
    file.close?.();
  }
}

const floats = (file: GGUFFile, name: string) => dequantize(file.get(name));
const hfFloats = (folder: string, name: string) => {
  const source = openSafetensorsFolder(folder);
  try {
    return dequantize(source.get(name));
  } finally {
    source.close?.();
  }
};

async function logits(path: string, tokens: number[]): Promise<Float32Array> {
  const model = await loadCausalLM(path);
  return model.forward(tokens, 0, model.createCache(), { logits: "all" });
}

const TOKENS = [3, 100, 256, 17, 42, 250, 5, 9, 77, 128, 33, 1];

test("llama: GGUF names, metadata, permuted Q/K, padded vocabulary; Loom reads it as the same model", async () => {
  const s = TINY.llama;
  const hf = writeTinyHF(fresh("llama"), s);
  const out = join(root, "llama-f32.gguf");
  const result = convertHFToGGUF(hf, out, { dtype: "f32", name: "tiny" });
  assert.equal(result.architecture, "llama");
  assert.deepEqual(result.warnings, []);
  withGGUF(out, (file) => {
    const meta = file.metadata;
    assert.equal(meta.get("general.architecture"), "llama");
    assert.equal(meta.get("general.name"), "tiny");
    assert.equal(meta.get("general.file_type"), 0);
    assert.equal(meta.get("general.quantization_version"), 2);
    assert.equal(meta.get("llama.block_count"), s.layers);
    assert.equal(meta.get("llama.context_length"), s.context);
    assert.equal(meta.get("llama.embedding_length"), s.hidden);
    assert.equal(meta.get("llama.feed_forward_length"), s.ff);
    assert.equal(meta.get("llama.attention.head_count"), s.heads);
    assert.equal(meta.get("llama.attention.head_count_kv"), s.kvHeads);
    assert.equal(meta.get("llama.rope.dimension_count"), s.hidden / s.heads);
    assert.equal(meta.get("llama.vocab_size"), VOCAB);
    const types = new Map(file.entries.map((e) => [e.key, e.type]));
    assert.equal(types.get("llama.block_count"), "uint32");
    assert.equal(types.get("llama.rope.freq_base"), "float32");
    // The tokenizer's 257 tokens are padded to the model's 260 rows, as llama.cpp's converter does.
    const tokens = meta.get("tokenizer.ggml.tokens") as string[];
    assert.equal(tokens.length, VOCAB);
    assert.deepEqual(tokens.slice(TOKENIZER_SIZE), ["[PAD257]", "[PAD258]", "[PAD259]"]);
    assert.deepEqual((meta.get("tokenizer.ggml.token_type") as number[]).slice(TOKENIZER_SIZE - 1), [3, 5, 5, 5]);
    assert.equal(meta.get("tokenizer.ggml.model"), "gpt2");
    assert.equal(meta.get("tokenizer.ggml.eos_token_id"), END_OF_TEXT);
    assert.equal(meta.get("tokenizer.ggml.add_space_prefix"), false);

    const names = file.tensorInfos.map((t) => t.name);
    assert.equal(names.length, 3 + 9 * s.layers);
    assert.ok(names.includes("output.weight") && names.includes("blk.1.ffn_gate.weight"));
    // Q/K rows permuted per head (K with the KV head count); V, O and the MLP untouched.
    const headDim = s.hidden / s.heads;
    assert.deepEqual(floats(file, "blk.1.attn_q.weight"), permutedForAdjacentRope(hfFloats(hf, "model.layers.1.self_attn.q_proj.weight"), s.heads, s.hidden));
    assert.deepEqual(floats(file, "blk.1.attn_k.weight"), permutedForAdjacentRope(hfFloats(hf, "model.layers.1.self_attn.k_proj.weight"), s.kvHeads, s.hidden));
    assert.deepEqual(floats(file, "blk.1.attn_v.weight"), hfFloats(hf, "model.layers.1.self_attn.v_proj.weight"));
    assert.deepEqual(file.get("blk.0.attn_k.weight").shape, [s.kvHeads * headDim, s.hidden]);
  });
  const d = maxAbsDiff(await logits(out, TOKENS), await logits(hf, TOKENS));
  assert.ok(d < 1e-4, `HF vs GGUF logits differ by ${d}`);
});

test("qwen2: biases kept in F32, no Q/K permutation, tied head written without output.weight", async () => {
  const s = TINY.qwen2;
  const hf = writeTinyHF(fresh("qwen2"), s);
  const out = join(root, "qwen2-q8_0.gguf");
  convertHFToGGUF(hf, out, { dtype: "q8_0" });
  withGGUF(out, (file) => {
    assert.equal(file.metadata.get("general.architecture"), "qwen2");
    assert.equal(file.metadata.get("general.file_type"), 7);
    assert.equal(file.has("output.weight"), false);
    assert.equal(file.get("blk.0.attn_q.bias").dtype, "f32");
    assert.equal(file.get("blk.0.attn_q.weight").dtype, "q8_0");
    assert.deepEqual(floats(file, "blk.0.attn_k.bias"), hfFloats(hf, "model.layers.0.self_attn.k_proj.bias"));
  });
  const reference = await logits(hf, TOKENS);
  const drift = maxAbsDiff(await logits(out, TOKENS), reference) / Math.max(...reference.map(Math.abs));
  assert.ok(drift < 0.1, `q8_0 logits moved by ${drift} of their range (measured ~2e-2)`);
});

test("gpt2: Conv1D matrices transposed, mask buffers dropped, position embeddings kept F32", async () => {
  const s = TINY.gpt2;
  const tensors = tinyWeights(s);
  // Old checkpoints carry the causal mask as a buffer; it is not a weight.
  tensors.push({ name: "transformer.h.0.attn.bias", shape: [1, 1, s.context, s.context], data: new Float32Array(s.context * s.context), dtype: "f32" });
  const hf = writeTinyHF(fresh("gpt2"), s, { tensors });
  const out = join(root, "gpt2-f16.gguf");
  convertHFToGGUF(hf, out, { dtype: "f16" });
  withGGUF(out, (file) => {
    assert.equal(file.metadata.get("gpt2.feed_forward_length"), s.ff);
    assert.equal(file.metadata.get("gpt2.context_length"), s.context);
    assert.equal(file.get("position_embd.weight").dtype, "f32");
    assert.equal(file.get("token_embd.weight").dtype, "f16");
    assert.equal(file.get("blk.0.ffn_up.weight").dtype, "f16");
    assert.deepEqual(file.get("blk.0.ffn_up.weight").shape, [s.ff, s.hidden]);
    const hfUp = hfFloats(hf, "transformer.h.0.mlp.c_fc.weight");
    assert.ok(maxAbsDiff(floats(file, "blk.0.ffn_up.weight"), transposed(hfUp, s.hidden, s.ff)) < 1e-3);
    assert.equal(file.tensorInfos.some((t) => t.name.includes("attn.bias") && !t.name.includes("qkv")), false);
  });
  const reference = await logits(hf, TOKENS);
  const drift = maxAbsDiff(await logits(out, TOKENS), reference) / Math.max(...reference.map(Math.abs));
  assert.ok(drift < 5e-3, `f16 logits moved by ${drift} of their range (measured ~1e-3)`);
});

test("mistral is written as the llama architecture; a sliding window it cannot store is reported", () => {
  const s = TINY.mistral;
  const hf = writeTinyHF(fresh("mistral"), s, { config: { ...tinyConfig(s), sliding_window: 16 } });
  const out = join(root, "mistral.gguf");
  const result = convertHFToGGUF(hf, out, { dtype: "f32" });
  assert.equal(result.architecture, "llama");
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0], /sliding_window 16/);
  withGGUF(out, (file) => {
    assert.equal(file.metadata.get("general.architecture"), "llama");
    assert.deepEqual(floats(file, "blk.0.attn_q.weight"), permutedForAdjacentRope(hfFloats(hf, "model.layers.0.self_attn.q_proj.weight"), s.heads, s.hidden));
  });
});

test("every output type: matrices stored in the type or its fallback, encoding the F32 file's values", async () => {
  const s = TINY.llama;
  const hf = writeTinyHF(fresh("llama-types"), s);
  const f32 = join(root, "types-f32.gguf");
  convertHFToGGUF(hf, f32, { dtype: "f32" });
  const reference = await logits(f32, TOKENS);
  const scale = Math.max(...reference.map(Math.abs));
  // Rows are 64 (attention, gate/up, embeddings) and 72 (ffn_down) values long. The last entry
  // bounds Loom's logit change relative to F32 (measured ~1e-3 for f16, ~1e-2 bf16, ~3e-2 for the
  // 8-bit types), only for types precise enough that such a bound means something.
  const expected: Record<string, [string, string, number?]> = {
    f16: ["f16", "f16", 5e-3], bf16: ["bf16", "bf16", 5e-2], q8_0: ["q8_0", "f16", 0.1], q6_k: ["q8_0", "f16", 0.1],
    q4_0: ["q4_0", "f16"], q4_1: ["q4_1", "f16"], q5_0: ["q5_0", "f16"], q5_1: ["q5_1", "f16"],
    q4_k: ["q5_0", "f16"], q5_k: ["q5_1", "f16"],
  };
  for (const [dtype, [matrix, down, tolerance]] of Object.entries(expected)) {
    const out = join(root, `types-${dtype}.gguf`);
    convertCheckpoint(hf, out, { dtype: dtype as "q8_0" });
    withGGUF(f32, (source) => withGGUF(out, (file) => {
      assert.equal(file.get("blk.0.attn_q.weight").dtype, matrix, `${dtype}: attn_q`);
      assert.equal(file.get("token_embd.weight").dtype, matrix, `${dtype}: token_embd`);
      assert.equal(file.get("blk.0.ffn_down.weight").dtype, down, `${dtype}: ffn_down`);
      assert.equal(file.get("blk.0.attn_norm.weight").dtype, "f32", `${dtype}: attn_norm`);
      for (const { name } of source.tensorInfos) {
        const raw = file.get(name);
        const values = floats(source, name);
        assert.deepEqual(raw.bytes, quantize(values, raw.dtype, raw.shape[raw.shape.length - 1]), `${dtype}: ${name}`);
      }
    }));
    const drift = maxAbsDiff(await logits(out, TOKENS), reference) / scale;
    if (tolerance !== undefined) assert.ok(drift < tolerance, `${dtype}: logits moved by ${drift} of their range`);
    else assert.ok(Number.isFinite(drift), `${dtype}: logits are not finite`);
  }
});

test("GGUF → GGUF requantization equals converting the HF folder directly, and keeps the metadata", () => {
  const s = TINY.llama;
  const hf = writeTinyHF(fresh("llama-requant"), s);
  const f32 = join(root, "rq-f32.gguf"), direct = join(root, "rq-direct.gguf"), viaGGUF = join(root, "rq-via.gguf");
  convertHFToGGUF(hf, f32, { dtype: "f32", name: "rq" });
  convertHFToGGUF(hf, direct, { dtype: "q8_0", name: "rq" });
  const result = convertCheckpoint(f32, viaGGUF, { dtype: "q8_0" });
  assert.equal(result.architecture, "llama");
  withGGUF(direct, (a) => withGGUF(viaGGUF, (b) => {
    assert.deepEqual(b.entries, a.entries);
    assert.deepEqual(b.tensorInfos.map((t) => [t.name, t.dtype]), a.tensorInfos.map((t) => [t.name, t.dtype]));
    for (const { name } of a.tensorInfos) assert.deepEqual(b.get(name).bytes, a.get(name).bytes, name);
  }));

  // Quantizing what is already quantized needs an explicit opt-in, as with llama-quantize.
  const q4 = join(root, "rq-q4_0.gguf");
  assert.throws(() => requantizeGGUF(direct, q4, { dtype: "q4_0" }), (e: Error) =>
    e.name === "LoomError" && e.message.includes("already q8_0") && e.message.includes("--allow-requantize"));
  assert.equal(existsSync(q4), false);
  requantizeGGUF(direct, q4, { dtype: "q4_0", allowRequantize: true });
  withGGUF(q4, (file) => {
    assert.equal(file.get("blk.0.ffn_gate.weight").dtype, "q4_0");
    assert.equal(file.get("blk.0.ffn_down.weight").dtype, "f16"); // was already f16: passed through
    assert.equal(file.metadata.get("general.file_type"), 2);
  });
  assert.throws(() => requantizeGGUF(f32, f32, { dtype: "q8_0" }), /different file/);
});

test("bad input gives one clear error naming the file, the tensor and the shapes", () => {
  const s = TINY.llama;
  const good = tinyWeights(s);
  const expectError = (label: string, options: Parameters<typeof writeTinyHF>[2], ...parts: string[]) => {
    const hf = writeTinyHF(fresh(label), s, options);
    const out = join(root, `${label}.gguf`);
    assert.throws(() => convertHFToGGUF(hf, out, { dtype: "f16" }), (e: Error) => {
      assert.equal(e.name, "LoomError", e.message);
      for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" should mention ${part}`);
      return true;
    }, label);
    assert.equal(existsSync(out), false, `${label}: no output file is left behind`);
  };
  expectError("missing", { tensors: good.filter((t) => t.name !== "model.layers.1.mlp.up_proj.weight") }, "model.layers.1.mlp.up_proj.weight", "[72, 64]");
  expectError("shape", {
    tensors: good.map((t) => (t.name === "model.layers.0.self_attn.k_proj.weight" ? { ...t, shape: [64, 32] } : t)),
  }, "model.layers.0.self_attn.k_proj.weight", "[64, 32]", "[32, 64]");
  expectError("unknown", { tensors: [...good, { name: "model.layers.0.extra.weight", shape: [4], data: new Float32Array(4), dtype: "f32" }] }, "model.layers.0.extra.weight");
  expectError("arch", { config: { ...tinyConfig(s), model_type: "bert", architectures: ["BertModel"] } }, "config.json", "bert", "supported");
  expectError("config", { config: { ...tinyConfig(s), hidden_size: undefined } }, "config.json", "hidden_size");

  // The embedding disagrees with config.json's vocab_size…
  expectError("vocab", { config: { ...tinyConfig(s), vocab_size: 200 } }, "model.embed_tokens.weight", "[260, 64]", "[200, 64]");
  // …or the model has fewer rows than the tokenizer has tokens.
  const small = { ...s, vocab: 200 };
  const smallHF = writeTinyHF(fresh("small-vocab"), small);
  assert.throws(() => convertHFToGGUF(smallHF, join(root, "small.gguf"), { dtype: "f32" }), (e: Error) =>
    e.name === "LoomError" && e.message.includes("tokenizer.json") && e.message.includes("257 tokens") && e.message.includes("200 rows"));

  const noTokenizer = writeTinyHF(fresh("no-tokenizer"), s);
  rmSync(join(noTokenizer, "tokenizer.json"));
  assert.throws(() => convertHFToGGUF(noTokenizer, join(root, "no-tok.gguf"), { dtype: "f32" }), (e: Error) => e.name === "LoomError" && e.message.includes("tokenizer"));

  writeFileSync(join(root, "not-a-model.txt"), "hello");
  assert.throws(() => convertCheckpoint(join(root, "not-a-model.txt"), join(root, "x.gguf"), { dtype: "f16" }), /not a GGUF file/);
});
