/** Llama-3 and Llama-3.1: Llama-3's split regex, ignore_merges, TemplateProcessing inside a Sequence. */
import { test } from "node:test";
import { checkAgainstHf, checkGgufMatches, hfTokenizer, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";

for (const model of ["llama3", "llama3_1"] as const) {
  const files = lenmlFiles(model);
  const ours = tokenizerFromHfFiles(files);

  test(`${model} ids, decodes and stream decodes equal Hugging Face's`, () => {
    checkAgainstHf(ours, hfTokenizer(files), { roundTrip: (t) => t, randomCount: 200 });
  });

  test(`${model} through GGUF metadata (model gpt2, pre llama-bpe) gives the same ids`, () => {
    checkGgufMatches(files, ours, "gpt2");
  });
}
