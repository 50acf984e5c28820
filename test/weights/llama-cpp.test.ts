// llama.cpp (through node-llama-cpp) as the independent judge of our GGUF writer and of every block
// layout: it must load our files, and its embedding of a token — which in the tiny model is the
// RMS-normalized token_embd row that llama.cpp itself dequantized — must equal ours.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DTYPES, dequantize } from "../../src/tensor/dtypes.js";
import { openGGUF } from "../../src/weights/gguf.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import { tempDir } from "./helpers.js";
import { TINY, tinyLlamaGGUF, tinyVocab } from "./tiny-llama.js";

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
type Llama = Awaited<ReturnType<typeof getLlama>>;
type Token = import("node-llama-cpp").Token;

const { dir, cleanup } = tempDir();
let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});
after(async () => {
  await llama?.dispose();
  cleanup();
});

function rmsNormalized(row: Float32Array): number[] {
  let sumSq = 0;
  for (const v of row) sumSq += v * v;
  const scale = 1 / Math.sqrt(sumSq / row.length + TINY.rmsEps);
  return Array.from(row, (v) => v * scale);
}

test("llama.cpp loads a tiny llama GGUF written by Loom and reads its metadata and vocabulary", async () => {
  const path = join(dir, "tiny-f16.gguf");
  writeGGUF(path, tinyLlamaGGUF("f16", 1));
  const model = await llama.loadModel({ modelPath: path });
  try {
    assert.equal(model.trainContextSize, TINY.context);
    assert.equal(model.embeddingVectorSize, TINY.embd);
    const { tokens } = tinyVocab();
    assert.equal(model.tokens.bos, 1);
    assert.equal(model.tokens.eos, 2);
    assert.equal(model.detokenize([tokens.indexOf("▁loom"), tokens.indexOf("▁weaves")] as Token[]), "loom weaves");
  } finally {
    await model.dispose();
  }
});

// Every dtype as the embedding table: llama.cpp's get_rows dequantizes with its own code.
for (const dtype of DTYPES) {
  test(`llama.cpp decodes Loom's ${dtype} token embeddings exactly as Loom does`, async () => {
    const path = join(dir, `tiny-${dtype}.gguf`);
    writeGGUF(path, tinyLlamaGGUF(dtype, 2));
    const source = openGGUF(path);
    const table = source.get("token_embd.weight");
    assert.equal(table.dtype, dtype);
    const rows = dequantize(table);
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createEmbeddingContext({ contextSize: TINY.context, threads: 1 }); // more threads than cores spin
    try {
      const vocab = table.shape[0];
      for (const token of [3, 77, 200, vocab - 1]) {
        const expected = rmsNormalized(rows.subarray(token * TINY.embd, (token + 1) * TINY.embd));
        const { vector } = await context.getEmbeddingFor([token as Token]);
        assert.equal(vector.length, TINY.embd);
        let maxDiff = 0;
        for (let i = 0; i < TINY.embd; i++) maxDiff = Math.max(maxDiff, Math.abs(vector[i] - expected[i]));
        // Both sides compute the same f32 RMSNorm of identical values: only rounding differs.
        assert.ok(maxDiff < 1e-4, `${dtype} token ${token}: max difference ${maxDiff}`);
      }
    } finally {
      await context.dispose();
      await model.dispose();
    }
  });
}
