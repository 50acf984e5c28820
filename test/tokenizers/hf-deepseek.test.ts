/** DeepSeek-V3: three chained Split regexes (digits, CJK, words) before byte-level BPE. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkAgainstHf, checkGgufMatches, hfTokenizer, lenmlFiles, tokenizerFromHfFiles } from "./helpers.js";

const files = lenmlFiles("deepseek_v3");
const ours = tokenizerFromHfFiles(files);

test("DeepSeek-V3 ids, decodes and stream decodes equal Hugging Face's", () => {
  // transformers' LlamaTokenizerFast rebuilds the post-processor from add_bos_token: true, so HF
  // (Python) prepends BOS; tokenizer.json alone (and HF's JS port) does not.
  const bos = ours.bosTokenId!;
  assert.equal(ours.idToToken(bos), "<｜begin▁of▁sentence｜>");
  checkAgainstHf(ours, hfTokenizer(files), { roundTrip: (t) => t, adjustHfIds: (ids, add) => (add ? [bos, ...ids] : ids) });
});

test("DeepSeek-V3 through GGUF metadata (model gpt2, pre deepseek-v3) gives the same ids", () => {
  checkGgufMatches(files, ours, "gpt2");
});
