// The Hugging Face cache layout, the one Python's huggingface_hub writes:
//   <cache>/models--org--name/blobs/<etag>                  file contents, named by git sha1 or LFS sha256
//   <cache>/models--org--name/snapshots/<commit>/<filename>  relative symlink to ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>               the commit hash a branch or tag pointed at
//   <cache>/models--org--name/.no_exist/<commit>/<filename> empty marker: the file is absent at that commit
import { copyFile, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { LoomError } from "../errors.js";

const COMMIT_HASH = /^[0-9a-f]{40}$/;
const REPO_PART = /^[A-Za-z0-9_.-]{1,96}$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/** Accepts "name" or "org/name" as the hub does ("--" and ".." are reserved). */
export function validateRepoId(repoId: string): void {
  const parts = repoId.split("/");
  const ok =
    parts.length <= 2 &&
    parts.every((p) => REPO_PART.test(p) && !/^[-.]|[-.]$/.test(p)) &&
    !repoId.includes("--") &&
    !repoId.includes("..");
  if (!ok) {
    throw new LoomError(`Invalid Hugging Face repo id "${repoId}": expected "name" or "org/name" (letters, digits, "-", "_", ".").`);
  }
}

/** A file path inside a repo: forward slashes, no empty, "." or ".." segment, so it cannot leave the cache. */
export function validateFilename(filename: string): void {
  const segments = filename.split("/");
  if (filename.includes("\\") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new LoomError(`Invalid file name "${filename}" in a hub repo: expected a relative path like "config.json" or "onnx/model.onnx".`);
  }
}

/** "org/name" → "models--org--name" (huggingface_hub's repo_folder_name for a model repo). */
export function repoFolderName(repoId: string): string {
  return ["models", ...repoId.split("/")].join("--");
}

/** The paths of one repo inside the cache. */
export class RepoCache {
  readonly root: string;
  constructor(cacheDir: string, readonly repoId: string) {
    this.root = resolve(cacheDir, repoFolderName(repoId));
  }
  blobPath(etag: string): string {
    return join(this.root, "blobs", etag);
  }
  snapshotDir(commit: string): string {
    return join(this.root, "snapshots", commit);
  }
  pointerPath(commit: string, filename: string): string {
    return join(this.snapshotDir(commit), ...filename.split("/"));
  }
  refPath(revision: string): string {
    return join(this.root, "refs", ...revision.split("/"));
  }
  noExistPath(commit: string, filename: string): string {
    return join(this.root, ".no_exist", commit, ...filename.split("/"));
  }
}

/** True when the path exists, following symlinks (a snapshot link whose blob is gone does not count). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The commit a revision names: itself when it is a commit hash, else what refs/<revision> recorded. */
export async function readRef(cache: RepoCache, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await readFile(cache.refPath(revision), "utf8")).trim();
    return commit === "" ? undefined : commit;
  } catch {
    return undefined;
  }
}

/** Records revision → commit (no trailing newline, as huggingface_hub writes it); rewrites only on change. */
export async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit || (await readRef(cache, revision)) === commit) return;
  const path = cache.refPath(revision);
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, path);
}

/** Remembers that a file is absent at a commit, as huggingface_hub's .no_exist markers do. */
export async function markMissing(cache: RepoCache, commit: string, filename: string): Promise<void> {
  const path = cache.noExistPath(commit, filename);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, "");
}

/**
 * Points snapshots/<commit>/<filename> at the blob with a relative symlink (the cache folder can then
 * be moved); where symlinks are not allowed (Windows without developer mode) the blob is copied.
 */
export async function linkPointer(blobPath: string, pointerPath: string): Promise<void> {
  await mkdir(dirname(pointerPath), { recursive: true });
  const target = relative(dirname(pointerPath), blobPath);
  await rm(pointerPath, { force: true });
  try {
    await symlink(target, pointerPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && (await readlink(pointerPath).catch(() => "")) === target) return; // a parallel call won
    if (code === "EPERM" || code === "EACCES" || code === "ENOSYS" || code === "ENOTSUP") {
      await copyFile(blobPath, pointerPath);
      return;
    }
    throw error;
  }
}
