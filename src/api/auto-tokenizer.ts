/**
 * `AutoTokenizer.fromPretrained`: a tokenizer from a local HF folder, a tokenizer.json, a .gguf file
 * or a hub id. For a hub id only the tokenizer's files are fetched, never the weights.
 */
import { basename, dirname } from "node:path";
import { resolveModel } from "../engine.js";
import { hfHubDownload, type HubDownloadOptions } from "../hub/download.js";
import { HubError } from "../hub/errors.js";
import { loadTokenizer } from "../tokenizers/load.js";
import type { LoomTokenizer } from "../tokenizers/tokenizer.js";
import { isAbsent, locate } from "./locate.js";

export type AutoTokenizerOptions = HubDownloadOptions;

// Read beside tokenizer.json when present; none is required.
const OPTIONAL_FILES = ["tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"];

async function downloadOptional(repoId: string, filename: string, options: HubDownloadOptions): Promise<void> {
  try {
    await hfHubDownload(repoId, filename, options);
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}

/** tokenizer.json, or GPT-2's older vocab.json + merges.txt; returns the snapshot folder holding them. */
async function downloadMainFiles(repoId: string, options: HubDownloadOptions): Promise<string> {
  try {
    return dirname(await hfHubDownload(repoId, "tokenizer.json", options));
  } catch (error) {
    // Offline, a missing tokenizer.json is reported as it is, not as a missing vocab.json.
    if (!(error instanceof HubError && error.code === "EntryNotFound")) throw error;
  }
  try {
    const vocab = await hfHubDownload(repoId, "vocab.json", options);
    await hfHubDownload(repoId, "merges.txt", { ...options, revision: basename(dirname(vocab)) });
    return dirname(vocab);
  } catch (error) {
    if (!(error instanceof HubError && error.code === "EntryNotFound")) throw error;
    throw new HubError("EntryNotFound", `${repoId} has no tokenizer.json (nor vocab.json + merges.txt): ${error.message}`, error.status, error.commit);
  }
}

/** Fetches (or finds in the HF cache) a repo's tokenizer files; returns their snapshot folder. */
export async function downloadTokenizerFiles(repoId: string, options: HubDownloadOptions = {}): Promise<string> {
  const snapshot = await downloadMainFiles(repoId, options);
  // Everything else at the same commit, so a branch that moves meanwhile cannot mix versions.
  const pinned = { ...options, revision: basename(snapshot) };
  for (const file of OPTIONAL_FILES) await downloadOptional(repoId, file, pinned);
  return snapshot;
}

export const AutoTokenizer = {
  /**
   * `await AutoTokenizer.fromPretrained("gpt2")`. Accepts an HF folder, a tokenizer.json file, a
   * .gguf file or a hub id ("gpt2", "org/name"); with no argument, Loom's bundled model.
   */
  async fromPretrained(idOrPath?: string, options: AutoTokenizerOptions = {}): Promise<LoomTokenizer> {
    if (idOrPath === undefined) return loadTokenizer(await resolveModel(undefined));
    const where = locate(idOrPath);
    if (where.kind === "local") return loadTokenizer(where.path);
    return loadTokenizer(await downloadTokenizerFiles(where.repoId, options));
  },
};
