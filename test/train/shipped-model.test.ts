// The model in models/loom-tiny: within its size budget, a loadable llama folder whose tokenizer
// means the same to @huggingface/tokenizers, and clearly better than chance on held-out text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { loadDocuments, splitDocuments } from "../../src/train/data.js";
import { loadExported } from "../../src/train/samples.js";

const dir = fileURLToPath(new URL("../../../models/loom-tiny", import.meta.url));

test("models/loom-tiny stays within 10 MB and is a tied llama config", () => {
  const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  assert.ok(bytes <= 10 * 1024 * 1024, `${bytes} bytes`);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.equal(config.model_type, "llama");
  assert.equal(config.tie_word_embeddings, true);
});

test("the shipped model predicts held-out text far better than chance, and its tokenizer matches HF's", () => {
  const { model, encoder } = loadExported(dir, { batch: 1 });
  try {
    const held = splitDocuments(loadDocuments("moby-dick,sotu")).validation;
    const text = held[held.length - 1].text.slice(0, 2000);
    const hf = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")), {});
    const ids = encoder.encode(text).slice(0, model.maxT + 1);
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids.slice(0, ids.length), ids);
    const loss = model.forward(ids.slice(0, -1), ids.slice(1), 1, ids.length - 1);
    // uniform guessing scores ln(4096) ≈ 8.3 nats; the model should be far below
    assert.ok(loss < 0.75 * Math.log(model.config.vocabSize), `loss ${loss}`);
  } finally {
    model.dispose();
  }
});
