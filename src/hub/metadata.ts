// What huggingface_hub's get_hf_file_metadata learns from one HEAD on the resolve URL: the commit the
// revision points at, the blob's ETag (its git sha1, or sha256 for LFS files), its size and where to GET it.
import { discard, header, isRedirect, isRelativeLocation, send } from "./http.js";
import { HubError, hubErrorFromStatus, type FileContext } from "./errors.js";

export interface FileMetadata {
  commit: string;
  etag: string;
  size?: number;
  /** The resolve URL after relative redirects (a renamed repo). */
  resolveUrl: string;
  /** Where the bytes are: the resolve URL itself, or the CDN URL of its redirect. */
  location: string;
}

const MAX_RELATIVE_REDIRECTS = 5;
// Commits and ETags become file names in the cache: accept nothing that could climb out of it.
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** https://huggingface.co/org/name/resolve/<revision>/<filename>, revision fully escaped, "/" kept in the file name. */
export function resolveUrl(endpoint: string, repoId: string, revision: string, filename: string): string {
  const file = filename.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** `"abc"` or `W/"abc"` → `abc`. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, "").replace(/^"|"$/g, "") || undefined;
}

/**
 * HEAD with redirects not followed, except relative ones (how the hub points at a renamed repo);
 * an absolute redirect is the CDN, whose URL becomes the download location.
 */
export async function fetchFileMetadata(
  ctx: FileContext,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<FileMetadata> {
  let url = resolveUrl(ctx.endpoint, ctx.repoId, ctx.revision, ctx.filename);
  for (let hop = 0; ; hop++) {
    const res = await send({ method: "HEAD", url, headers: { ...headers, "Accept-Encoding": "identity" }, timeoutMs });
    discard(res);
    const status = res.statusCode ?? 0;
    const location = header(res, "location");
    if (isRedirect(status) && location && isRelativeLocation(location) && hop < MAX_RELATIVE_REDIRECTS) {
      url = new URL(location, url).toString();
      continue;
    }
    const commit = header(res, "x-repo-commit");
    if (status >= 400) {
      throw hubErrorFromStatus(status, header(res, "x-error-code"), header(res, "x-error-message"), commit, ctx);
    }
    if (!isRedirect(status) && (status < 200 || status >= 300)) {
      throw hubErrorFromStatus(status, undefined, undefined, commit, ctx);
    }
    const etag = normalizeEtag(header(res, "x-linked-etag") ?? header(res, "etag"));
    const where = `${url} (HEAD ${status})`;
    if (!commit || !SAFE_NAME.test(commit)) {
      throw new HubError("BadResponse", `${where} sent no usable X-Repo-Commit header: is ${ctx.endpoint} a Hugging Face hub?`, status);
    }
    if (!etag || !SAFE_NAME.test(etag)) {
      throw new HubError("BadResponse", `${where} sent no usable ETag or X-Linked-Etag header, so the download cannot be cached reliably.`, status);
    }
    // On a redirect, Content-Length measures the redirect's own body, not the file.
    const sizeHeader = header(res, "x-linked-size") ?? (isRedirect(status) ? undefined : header(res, "content-length"));
    const size = sizeHeader !== undefined && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
    const target = isRedirect(status) && location ? new URL(location, url).toString() : url;
    return { commit, etag, size, resolveUrl: url, location: target };
  }
}
