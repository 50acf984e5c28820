/** A real .gguf file (written by Loom's GGUF writer) loads through loadTokenizer with the same ids. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ggufEntries, ggufMetadataFromHf, loadTokenizer } from "../../src/tokenizers/index.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import { corpus, gpt2Files, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";

for (const [name, files] of [["GPT-2", gpt2Files()], ["Mistral", lenmlFiles("llama2")]] as const) {
  test(`${name} written to a .gguf file loads with identical ids`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "loom-gguf-tok-"));
    try {
      const path = join(dir, "tokenizer.gguf");
      writeGGUF(path, { metadata: [{ key: "general.architecture", type: "string", value: "llama" }, ...ggufEntries(ggufMetadataFromHf(files))], tensors: [] });
      const fromFile = await loadTokenizer(path);
      const fromJson = tokenizerFromHfFiles(files);
      for (const text of corpus(21, 60)) assert.deepEqual(fromFile.encode(text), fromJson.encode(text), JSON.stringify(text));
      assert.equal(fromFile.vocabSize, fromJson.vocabSize);
      assert.equal(fromFile.eosTokenId, fromJson.eosTokenId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
