/** Qwen3: NFC, Qwen's split regex, byte-level BPE with pair-form merges. */
import { test } from "node:test";
import { checkAgainstHf, checkGgufMatches, hfTokenizer, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";

const files = lenmlFiles("qwen3");
const ours = tokenizerFromHfFiles(files);

test("Qwen3 ids, decodes and stream decodes equal Hugging Face's", () => {
  checkAgainstHf(ours, hfTokenizer(files), { roundTrip: (t) => t.normalize("NFC") });
});

test("Qwen3 through GGUF metadata (model gpt2, pre qwen2) gives the same ids", () => {
  checkGgufMatches(files, ours, "gpt2");
});
