/**
 * The generated fixtures: what `ensureFixtures` promises (idempotent, complete, the shapes and
 * storage types the comparisons rely on), and that the converted files carry GPT-2's real
 * tokenizer — llama.cpp and Loom both tokenize English exactly as gpt-3-encoder does.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Token } from "node-llama-cpp";
import { encode } from "gpt-3-encoder";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { openGGUF } from "../../src/weights/gguf.js";
import { ensureFixtures, FIXTURE_ARCHS, type Fixtures } from "../../scripts/make-fixtures.js";
import { getLlamaCpp } from "./llamacpp.js";

let fixtures: Fixtures;
before(async () => {
  fixtures = await ensureFixtures();
});
after(async () => {
  await (await getLlamaCpp()).dispose();
});

const TEXT = "Mara counted 3 buoys, then 12 more; the bell tower's clock said 6:45 — \"late again\", she thought.";

test("ensureFixtures is idempotent: a second call finds the stamped set and rewrites nothing", async () => {
  const manifest = join(fixtures.dir, "manifest.json");
  const before = statSync(manifest).mtimeMs;
  const again = await ensureFixtures();
  assert.deepEqual(again, fixtures);
  assert.equal(statSync(manifest).mtimeMs, before);
  for (const arch of FIXTURE_ARCHS) {
    for (const file of ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) {
      assert.ok(existsSync(join(fixtures.models[arch].hf, file)), `${arch}/${file}`);
    }
  }
});

test("the GGUF twins have the layouts the oracle comparisons rely on", () => {
  const check = (path: string, body: (file: ReturnType<typeof openGGUF>) => void) => {
    const file = openGGUF(path);
    try {
      body(file);
    } finally {
      file.close?.();
    }
  };
  check(fixtures.models.gpt2.gguf.f16, (f) => {
    assert.equal(f.get("token_embd.weight").dtype, "f16");
    assert.equal(f.get("position_embd.weight").dtype, "f32");
    assert.deepEqual(f.get("token_embd.weight").shape, [50257, 64]);
  });
  check(fixtures.models.llama.gguf.q8_0, (f) => {
    assert.equal(f.metadata.get("llama.attention.head_count_kv"), 2);
    assert.equal(f.get("output.weight").dtype, "q8_0"); // untied head
    assert.equal(f.metadata.get("tokenizer.ggml.pre"), "gpt-2");
  });
  check(fixtures.models.qwen2.gguf.q8_0, (f) => {
    assert.equal(f.has("output.weight"), false); // tied head
    assert.equal(f.get("blk.0.attn_q.bias").dtype, "f32");
    assert.equal(f.get("blk.0.ffn_up.weight").dtype, "q8_0");
    assert.equal(f.get("blk.0.ffn_down.weight").dtype, "f16"); // rows of 136 values: not whole Q8_0 blocks
  });
});

test("llama.cpp and Loom tokenize English in the converted files exactly as gpt-3-encoder does", async () => {
  const expected = encode(TEXT);
  const llama = await getLlamaCpp();
  for (const arch of FIXTURE_ARCHS) {
    const path = fixtures.models[arch].gguf.q8_0;
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      assert.deepEqual(model.tokenize(TEXT).map(Number), expected, `llama.cpp, ${arch}`);
      assert.equal(model.detokenize(expected as Token[]), TEXT);
      assert.equal(model.tokens.eos, 50256);
    } finally {
      await model.dispose();
    }
    assert.deepEqual((await loadTokenizer(path)).encode(TEXT, { addSpecialTokens: false }), expected, `Loom, ${arch}`);
  }
});
