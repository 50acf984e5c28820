/**
 * Deciding whether a `fromPretrained` argument names something on disk or a hub repo, the way
 * transformers does: an existing path wins; anything shaped like "name" or "org/name" is a hub id.
 */
import { existsSync } from "node:fs";
import { LoomError } from "../errors.js";
import { expandUser } from "../hub/env.js";
import { HubError } from "../hub/errors.js";

export type Location = { kind: "local"; path: string } | { kind: "hub"; repoId: string };

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const FILE_SUFFIX = /\.(gguf|json|safetensors)$/i;

export function locate(idOrPath: string): Location {
  if (typeof idOrPath !== "string" || idOrPath.trim() === "") {
    throw new LoomError(`expected a model folder, a .gguf / tokenizer.json file or a hub id like "gpt2", got ${JSON.stringify(idOrPath)}`);
  }
  const local = expandUser(idOrPath);
  if (existsSync(local)) return { kind: "local", path: local };
  if (!HUB_ID.test(idOrPath) || FILE_SUFFIX.test(idOrPath)) {
    throw new LoomError(`No such file or folder: "${idOrPath}" (a hub model id looks like "gpt2" or "org/name").`);
  }
  return { kind: "hub", repoId: idOrPath };
}

/** The file is not in the repo (or, offline, not in the cache): an optional file is then skipped. */
export function isAbsent(error: unknown): boolean {
  return error instanceof HubError && (error.code === "EntryNotFound" || error.code === "NotInCache");
}
