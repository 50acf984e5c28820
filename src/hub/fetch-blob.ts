// Downloads one blob into blobs/<etag>.incomplete, resuming with a Range request after a dropped
// connection (in this call or a previous run), checks its size and — for LFS files, whose ETag is
// the content's sha256 — its hash, and only then renames it into place.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, rm, stat, truncate, type FileHandle } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { discard, header, isRedirect, send } from "./http.js";
import { HubError, hubErrorFromStatus, type FileContext } from "./errors.js";

export interface BlobJob {
  ctx: FileContext;
  url: string;
  headers: Record<string, string>;
  etag: string;
  expectedSize?: number;
  blobPath: string;
  timeoutMs: number;
  /** How many times a dropped connection or a 5xx is retried, resuming where it stopped. */
  maxRetries: number;
  retryDelayMs: number;
  onBytes?: (downloadedBytes: number, totalBytes: number | undefined) => void;
}

const MAX_REDIRECTS = 10;
const SHA256_HEX = /^[0-9a-f]{64}$/;

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  const { Authorization: _dropped, ...rest } = headers;
  return rest;
}

/** GET that follows redirects (absolute and relative); Authorization never leaves the origin it was meant for. */
async function getFollowingRedirects(job: BlobJob, headers: Record<string, string>): Promise<IncomingMessage> {
  let url = job.url;
  let sent = headers;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await send({ method: "GET", url, headers: sent, timeoutMs: job.timeoutMs });
    const location = header(res, "location");
    if (!isRedirect(res.statusCode ?? 0) || !location) return res;
    discard(res);
    const next = new URL(location, url);
    if (next.origin !== new URL(url).origin) sent = withoutAuthorization(sent);
    url = next.toString();
  }
  throw new HubError("BadResponse", `More than ${MAX_REDIRECTS} redirects while downloading from ${job.url}.`);
}

/**
 * Writes the body to the file (appending, or from scratch when `restart`), chunk by chunk in arrival
 * order. Listeners are attached before any await, and chunks are taken in flowing mode, so every byte
 * received before a dropped connection reaches the disk: the file always holds a clean prefix of the
 * blob, which is what a Range resume needs.
 */
async function writeBody(body: IncomingMessage, path: string, restart: boolean, onChunk: (bytes: number) => void): Promise<void> {
  let file: Promise<FileHandle> | undefined;
  const handle = () => (file ??= open(path, restart ? "w" : "a"));
  let writes: Promise<void> = Promise.resolve();
  let writeError: unknown;
  let queued = 0;
  const append = async (chunk: Buffer) => {
    if (writeError !== undefined) return; // never leave a gap: stop at the first failed write
    const out = await handle();
    for (let offset = 0; offset < chunk.length; ) offset += (await out.write(chunk, offset)).bytesWritten;
    onChunk(chunk.length);
  };
  const received = new Promise<void>((resolvePromise, reject) => {
    let ended = false;
    body.on("data", (chunk: Buffer) => {
      if (++queued > 16) body.pause(); // the disk is behind: let TCP hold the rest
      writes = writes
        .then(() => append(chunk))
        .catch((error: unknown) => {
          writeError ??= error;
          body.destroy(error as Error);
        })
        .finally(() => {
          if (--queued <= 4 && body.isPaused()) body.resume();
        });
    });
    body.on("end", () => {
      ended = true;
      resolvePromise();
    });
    body.on("error", reject);
    body.on("close", () => {
      if (!ended) reject(new Error("the connection closed before the end of the body"));
    });
  });
  try {
    await received;
  } finally {
    await writes;
    await handle(); // an empty body still leaves a (fresh or replaced) file behind
    await (await file)?.close();
  }
  if (writeError !== undefined) throw writeError;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function isRetryable(error: unknown): boolean {
  if (!(error instanceof HubError)) return true; // a stream error: the connection dropped mid-body
  return error.code === "Network" || (error.status !== undefined && (error.status >= 500 || error.status === 429));
}

/** One GET from the current size of the .incomplete file to the end. */
async function downloadRest(job: BlobJob, incomplete: string): Promise<void> {
  let have = await sizeOf(incomplete);
  if (job.expectedSize !== undefined && have > job.expectedSize) {
    await truncate(incomplete, 0); // not a prefix of this blob
    have = 0;
  }
  if (job.expectedSize !== undefined && have === job.expectedSize && have > 0) return;
  const headers = have > 0 ? { ...job.headers, Range: `bytes=${have}-` } : job.headers;
  const res = await getFollowingRedirects(job, headers);
  const status = res.statusCode ?? 0;
  const contentRange = header(res, "content-range");
  if (have > 0 && (status === 416 || (status === 206 && !contentRange?.startsWith(`bytes ${have}-`)))) {
    discard(res);
    await truncate(incomplete, 0); // the server disagrees about what we hold: start over, once, without Range
    return downloadRest(job, incomplete);
  }
  if (status < 200 || status >= 300) {
    discard(res);
    throw hubErrorFromStatus(status, header(res, "x-error-code"), header(res, "x-error-message"), undefined, job.ctx);
  }
  // From here until writeBody attaches its listeners, no await: the body must not slip by unseen.
  const restart = status === 200 && have > 0; // the server ignored Range and sends the whole file
  if (restart) have = 0;
  const length = header(res, "content-length");
  const total = job.expectedSize ?? (length !== undefined ? have + Number(length) : undefined);
  let downloaded = have;
  job.onBytes?.(downloaded, total);
  await writeBody(res, incomplete, restart, (bytes) => {
    downloaded += bytes;
    job.onBytes?.(downloaded, total);
  });
}

export async function fetchBlob(job: BlobJob): Promise<void> {
  const incomplete = `${job.blobPath}.incomplete`;
  const file = `"${job.ctx.filename}" of ${job.ctx.repoId}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await downloadRest(job, incomplete);
      if (job.expectedSize === undefined || (await sizeOf(incomplete)) >= job.expectedSize) break;
      throw new HubError("Network", `the connection closed before the end of the file`);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (attempt >= job.maxRetries) {
        const why = error instanceof Error ? error.message : String(error);
        throw new HubError(
          "Interrupted",
          `Download of ${file} interrupted after ${attempt + 1} tries (${why}); ${await sizeOf(incomplete)} bytes are kept in ${incomplete} and the next call resumes from there.`,
        );
      }
      await new Promise((done) => setTimeout(done, job.retryDelayMs * (attempt + 1)));
    }
  }
  const size = await sizeOf(incomplete);
  if (job.expectedSize !== undefined && size !== job.expectedSize) {
    await rm(incomplete, { force: true });
    throw new HubError("BadResponse", `Downloaded ${size} bytes for ${file} but the hub announced ${job.expectedSize}; the file was discarded.`);
  }
  if (SHA256_HEX.test(job.etag)) {
    const actual = await sha256OfFile(incomplete);
    if (actual !== job.etag) {
      await rm(incomplete, { force: true });
      throw new HubError(
        "ChecksumMismatch",
        `The sha256 of the downloaded ${file} is ${actual}, but the hub's ETag says ${job.etag}; the corrupt download was deleted — try again.`,
      );
    }
  }
  await rename(incomplete, job.blobPath);
}
