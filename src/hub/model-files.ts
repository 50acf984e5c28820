// What Loom needs from a hub repo to run a causal LM, gathered into one snapshot folder.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { LoomError } from "../errors.js";
import { validateFilename, validateRepoId } from "./cache.js";
import { hfHubDownload, type HubDownloadOptions } from "./download.js";
import { expandUser, isOfflineFromEnv } from "./env.js";
import { HubError } from "./errors.js";

const REQUIRED_FILES = ["config.json", "tokenizer.json"];
// tokenizer_config.json is optional too: some repos ship only tokenizer.json, and the loaders have defaults.
const OPTIONAL_FILES = ["generation_config.json", "tokenizer_config.json", "special_tokens_map.json"];
const SINGLE_WEIGHTS = "model.safetensors";
const WEIGHTS_INDEX = "model.safetensors.index.json";

/** Absent from the repo, or (offline) absent from the cache: either way an optional file is skipped. */
function isAbsent(error: unknown): boolean {
  return error instanceof HubError && (error.code === "EntryNotFound" || error.code === "NotInCache");
}

async function downloadOptional(repoId: string, filename: string, options: HubDownloadOptions): Promise<string | undefined> {
  try {
    return await hfHubDownload(repoId, filename, options);
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/** The shard file names an index's weight_map points at, each once, sorted. */
export function shardFilesOfIndex(indexJson: string, where: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(indexJson);
  } catch (error) {
    throw new LoomError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new LoomError(`${where} has no "weight_map" object mapping tensor names to shard files.`);
  }
  const shards = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string") throw new LoomError(`${where}: weight_map["${tensor}"] is not a file name.`);
    validateFilename(shard);
    shards.add(shard);
  }
  if (shards.size === 0) throw new LoomError(`${where}: weight_map is empty.`);
  return [...shards].sort();
}

async function downloadWeights(repoId: string, options: HubDownloadOptions): Promise<void> {
  const single = await downloadOptional(repoId, SINGLE_WEIGHTS, options);
  if (single) return;
  const index = await downloadOptional(repoId, WEIGHTS_INDEX, options);
  if (!index) {
    const offline = options.offline ?? isOfflineFromEnv();
    throw new HubError(
      offline ? "NotInCache" : "EntryNotFound",
      `${repoId} at commit ${options.revision} has neither ${SINGLE_WEIGHTS} nor ${WEIGHTS_INDEX}${
        offline ? " in the Hugging Face cache (offline mode)" : ""
      }: Loom loads safetensors weights (or a local .gguf file).`,
    );
  }
  for (const shard of shardFilesOfIndex(await readFile(index, "utf8"), `${repoId}/${WEIGHTS_INDEX}`)) {
    await hfHubDownload(repoId, shard, options);
  }
}

/**
 * Downloads (or finds in the cache) config.json, tokenizer.json, the optional generation / tokenizer
 * configs and the safetensors weights — single file or index plus shards — and returns the snapshot
 * folder that holds them all. Every file after config.json is fetched at config.json's commit, so a
 * branch that moves mid-download cannot mix two versions.
 */
export async function resolveModelFiles(repoId: string, options: HubDownloadOptions = {}): Promise<string> {
  validateRepoId(repoId);
  const configPath = await hfHubDownload(repoId, "config.json", options);
  const snapshot = dirname(configPath);
  const pinned: HubDownloadOptions = { ...options, revision: basename(snapshot) };
  for (const file of REQUIRED_FILES.slice(1)) await hfHubDownload(repoId, file, pinned);
  for (const file of OPTIONAL_FILES) await downloadOptional(repoId, file, pinned);
  await downloadWeights(repoId, pinned);
  return snapshot;
}

/** Looks like a file system path rather than a hub id. */
function looksLikePath(value: string): boolean {
  return (
    /^(\/|\.{1,2}(\/|$)|~)/.test(value) ||
    value.includes("\\") ||
    /\.(gguf|safetensors|json)$/i.test(value) ||
    value.split("/").length > 2
  );
}

/**
 * A local folder or .gguf file is returned as is (with `~` expanded); a hub id such as "gpt2" or
 * "org/name" that is not an existing path is resolved through the hub and its cache.
 */
export async function resolveModelPath(idOrPath: string, options: HubDownloadOptions = {}): Promise<string> {
  const local = expandUser(idOrPath);
  if (existsSync(local)) return local;
  if (looksLikePath(idOrPath)) {
    throw new LoomError(`No such file or folder: "${idOrPath}" (a hub model id looks like "gpt2" or "org/name").`);
  }
  return resolveModelFiles(idOrPath, options);
}
