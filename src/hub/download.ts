// hfHubDownload: one file of a model repo, through the Hugging Face cache, the way Python's
// hf_hub_download does it — so either can reuse what the other downloaded.
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import {
  RepoCache,
  exists,
  isCommitHash,
  linkPointer,
  markMissing,
  readRef,
  validateFilename,
  validateRepoId,
  writeRef,
} from "./cache.js";
import { hubCacheDir, hubEndpoint, hubToken, isOfflineFromEnv, timeoutFromEnv } from "./env.js";
import { HubError, type FileContext } from "./errors.js";
import { fetchBlob } from "./fetch-blob.js";
import { fetchFileMetadata } from "./metadata.js";

/** One report per chunk while a file downloads, and one with `done: true` at its end. */
export interface DownloadProgress {
  repoId: string;
  filename: string;
  downloadedBytes: number;
  /** Undefined when the server did not say. */
  totalBytes: number | undefined;
  done: boolean;
}

export interface HubDownloadOptions {
  /** Branch, tag or commit hash; default "main". */
  revision?: string;
  /** Default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Default: $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Sent as a Bearer token. Default: $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN or the stored login; `false` sends none. */
  token?: string | false;
  /** Resolve from the cache only. Default: $HF_HUB_OFFLINE. */
  offline?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  /** Longest silence on a connection; default $HF_HUB_ETAG_TIMEOUT / $HF_HUB_DOWNLOAD_TIMEOUT or 10 s. */
  timeoutMs?: number;
  /** Resumed retries after a dropped connection or a 5xx; default 5. */
  maxRetries?: number;
  /** Wait before retry n is n times this; default 1000 ms. */
  retryDelayMs?: number;
}

interface Settings {
  endpoint: string;
  cacheDir: string;
  token: string | undefined;
  offline: boolean;
}

function settingsFrom(options: HubDownloadOptions): Settings {
  return {
    endpoint: (options.endpoint ?? hubEndpoint()).replace(/\/+$/, ""),
    cacheDir: options.cacheDir ?? hubCacheDir(),
    token: options.token === false ? undefined : (options.token ?? hubToken()),
    offline: options.offline ?? isOfflineFromEnv(),
  };
}

// Two calls in this process that want the same blob share one download.
const inFlight = new Map<string, Promise<void>>();

function shareDownload(key: string, start: () => Promise<void>): Promise<void> {
  let pending = inFlight.get(key);
  if (!pending) {
    pending = start().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

/** The cached copy of a file for a revision, or a HubError saying exactly what is missing. */
async function fromCache(cache: RepoCache, revision: string, filename: string, why: string): Promise<string> {
  const file = `"${filename}" of ${cache.repoId} at revision "${revision}"`;
  const commit = await readRef(cache, revision);
  if (commit === undefined) {
    throw new HubError(
      "NotInCache",
      `${why}: ${file} is not in the Hugging Face cache — no commit is recorded for revision "${revision}" under ${cache.root}. Download it once with network access (or unset HF_HUB_OFFLINE).`,
    );
  }
  const pointer = cache.pointerPath(commit, filename);
  if (await exists(pointer)) return pointer;
  if (await exists(cache.noExistPath(commit, filename))) {
    throw new HubError("EntryNotFound", `File not found in repo: ${file} (commit ${commit}, known from the cache).`, undefined, commit);
  }
  throw new HubError(
    "NotInCache",
    `${why}: ${file} is not in the Hugging Face cache (looked for ${pointer}). Download it once with network access (or unset HF_HUB_OFFLINE).`,
  );
}

/**
 * Returns the absolute path of `filename` from a hub model repo, downloading it into the HF cache
 * when needed: blobs/<etag>, snapshots/<commit>/<filename> → ../../blobs/<etag>, refs/<revision>.
 */
export async function hfHubDownload(repoId: string, filename: string, options: HubDownloadOptions = {}): Promise<string> {
  validateRepoId(repoId);
  validateFilename(filename);
  const settings = settingsFrom(options);
  const revision = options.revision ?? "main";
  const cache = new RepoCache(settings.cacheDir, repoId);

  // A commit hash never changes meaning: what the cache holds (or knows is absent) is final.
  if (isCommitHash(revision)) {
    const pointer = cache.pointerPath(revision, filename);
    if (await exists(pointer)) return pointer;
    if (await exists(cache.noExistPath(revision, filename))) return fromCache(cache, revision, filename, "Cached");
  }
  if (settings.offline) {
    const why = options.offline ? "Offline mode (offline: true)" : "Offline mode (HF_HUB_OFFLINE is set)";
    return fromCache(cache, revision, filename, why);
  }

  const ctx: FileContext = { repoId, revision, filename, endpoint: settings.endpoint, tokenSent: settings.token !== undefined };
  const auth: Record<string, string> = settings.token ? { Authorization: `Bearer ${settings.token}` } : {};
  let meta;
  try {
    meta = await fetchFileMetadata(ctx, auth, options.timeoutMs ?? timeoutFromEnv("HF_HUB_ETAG_TIMEOUT", 10_000));
  } catch (error) {
    if (error instanceof HubError && error.code === "EntryNotFound" && error.commit) {
      await markMissing(cache, error.commit, filename);
      await writeRef(cache, revision, error.commit);
    }
    if (error instanceof HubError && error.code === "Network") {
      // No connection: fall back to what the cache has, as huggingface_hub does.
      return fromCache(cache, revision, filename, error.message).catch((cacheError: HubError) => {
        throw new HubError("Network", `${error.message}. ${cacheError.message}`);
      });
    }
    throw error;
  }

  await writeRef(cache, revision, meta.commit);
  const pointer = cache.pointerPath(meta.commit, filename);
  if (await exists(pointer)) return pointer;
  const blobPath = cache.blobPath(meta.etag);
  if (!(await exists(blobPath))) {
    await mkdir(dirname(blobPath), { recursive: true });
    const report = (downloadedBytes: number, totalBytes: number | undefined, done: boolean) =>
      options.onProgress?.({ repoId, filename, downloadedBytes, totalBytes, done });
    await shareDownload(blobPath, async () => {
      let downloadedBytes = 0;
      let totalBytes = meta.size;
      await fetchBlob({
        ctx,
        // The CDN gets no token (huggingface_hub drops it when the bytes live elsewhere).
        url: meta.location,
        headers: meta.location === meta.resolveUrl ? auth : {},
        etag: meta.etag,
        expectedSize: meta.size,
        blobPath,
        timeoutMs: options.timeoutMs ?? timeoutFromEnv("HF_HUB_DOWNLOAD_TIMEOUT", 10_000),
        maxRetries: options.maxRetries ?? 5,
        retryDelayMs: options.retryDelayMs ?? 1000,
        onBytes: (downloaded, total) => {
          downloadedBytes = downloaded;
          totalBytes = total;
          report(downloaded, total, false);
        },
      });
      report(totalBytes ?? downloadedBytes, totalBytes ?? downloadedBytes, true); // complete and verified
    });
  }
  await linkPointer(blobPath, pointer);
  return pointer;
}
