/**
 * `loadTokenizer(path)`: a tokenizer.json file, a Hugging Face folder (tokenizer.json, or GPT-2's
 * vocab.json + merges.txt, with tokenizer_config.json / special_tokens_map.json /
 * chat_template.jinja beside it), or a .gguf file (its tokenizer.ggml.* metadata).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { LoomError } from "../errors.js";
import { readGGUFHeader } from "../weights/gguf.js";
import { tokenizerFromGGUFMetadata } from "./gguf.js";
import { gpt2TokenizerJson, parseMergesText } from "./gpt2-files.js";
import { tokenizerFromHfFiles, type HfTokenizerFiles } from "./hf.js";
import { asObject } from "./json.js";
import type { LoomTokenizer } from "./tokenizer.js";

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new LoomError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LoomError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function readOptionalJson(path: string): unknown {
  return existsSync(path) ? readJson(path) : undefined;
}

/** Reads the files of an HF folder (or the siblings of a tokenizer.json) without building anything. */
export function readHfTokenizerFiles(folder: string, tokenizerJsonPath = join(folder, "tokenizer.json")): HfTokenizerFiles {
  const tokenizerConfig = readOptionalJson(join(folder, "tokenizer_config.json"));
  const specialTokensMap = readOptionalJson(join(folder, "special_tokens_map.json"));
  const templatePath = join(folder, "chat_template.jinja");
  let chatTemplate = existsSync(templatePath) ? readFileSync(templatePath, "utf8") : undefined;
  const templateJson = readOptionalJson(join(folder, "chat_template.json"));
  if (chatTemplate === undefined && templateJson !== undefined) {
    const value = asObject(templateJson, join(folder, "chat_template.json")).chat_template;
    if (typeof value === "string") chatTemplate = value;
  }
  const common = { tokenizerConfig, specialTokensMap, chatTemplate };
  if (existsSync(tokenizerJsonPath)) return { ...common, tokenizerJson: readJson(tokenizerJsonPath), origin: tokenizerJsonPath };

  const vocabPath = join(folder, "vocab.json");
  const mergesPath = join(folder, "merges.txt");
  if (existsSync(vocabPath) && existsSync(mergesPath)) {
    const vocab = asObject(readJson(vocabPath), vocabPath) as Record<string, number>;
    const merges = parseMergesText(readFileSync(mergesPath, "utf8"), mergesPath);
    const named = [tokenizerConfig, specialTokensMap].flatMap((cfg) =>
      cfg === undefined ? [] : ["bos_token", "eos_token", "unk_token", "pad_token"].map((k) => asObject(cfg, folder)[k]),
    );
    const specialTokens = ["<|endoftext|>", ...named.map((v) => (typeof v === "object" && v !== null ? (v as { content?: unknown }).content : v)).filter((v): v is string => typeof v === "string")];
    return { ...common, tokenizerJson: gpt2TokenizerJson(vocab, merges, { specialTokens }), origin: vocabPath };
  }
  throw new LoomError(`${folder}: no tokenizer.json, and no vocab.json + merges.txt`);
}

/** Loads a tokenizer from a tokenizer.json file, an HF model folder or a .gguf file. */
export async function loadTokenizer(path: string): Promise<LoomTokenizer> {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new LoomError(`tokenizer path ${path} does not exist`);
  }
  if (stats.isDirectory()) return tokenizerFromHfFiles(readHfTokenizerFiles(path));
  if (path.toLowerCase().endsWith(".gguf")) return tokenizerFromGGUFMetadata(readGGUFHeader(path).metadata);
  return tokenizerFromHfFiles(readHfTokenizerFiles(dirname(path), path));
}
