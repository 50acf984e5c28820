/** Gemma-3's 262k SentencePiece-style BPE with byte fallback and 6k added tokens. */
import { test } from "node:test";
import { checkAgainstHf, checkGgufMatches, hfTokenizer, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";

const files = lenmlFiles("gemma3");
const ours = tokenizerFromHfFiles(files);

test("Gemma-3 ids, decodes and stream decodes equal Hugging Face's", () => {
  checkAgainstHf(ours, hfTokenizer(files), { roundTrip: (t) => (t.includes("\u2581") ? undefined : t), randomCount: 200 });
});

test("Gemma-3 through GGUF metadata (model llama, scores) gives the same ids", () => {
  checkGgufMatches(files, ours, "llama");
});
