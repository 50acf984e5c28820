// A small local imitation of the Hugging Face hub's resolve endpoint, for tests only:
//   HEAD/GET /<repo>/resolve/<revision>/<file>
//     regular file → 200, ETag = git blob sha1, X-Repo-Commit
//     LFS file     → 302 to an absolute "CDN" URL, X-Linked-Etag = sha256, X-Linked-Size, X-Repo-Commit
//     renamed repo → 307 to a relative URL; gated repo → 401/403 GatedRepo; misses → 404 + X-Error-Code
//   GET /cdn/<sha256>     → 302 to the relative /storage/<sha256>
//   GET /storage/<sha256> → the bytes, honouring "Range: bytes=N-" with 206
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeFile {
  content: Buffer;
  lfs?: boolean;
}

export interface FakeRepo {
  /** commit hash → files at that commit */
  commits: Record<string, Record<string, FakeFile>>;
  /** branch or tag → commit hash */
  refs: Record<string, string>;
  /** When set, only this token may read the repo. */
  gatedToken?: string;
  /** When set, the repo was renamed to this id. */
  renamedTo?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface Faults {
  /** The next GET body (file or storage) stops after this many bytes and the connection drops. */
  dropNextBodyAfter?: number;
  /** The next GET body stops after this many bytes and the connection stays open, silent. */
  stallNextBodyAfter?: number;
  /** /storage serves these sha256 blobs with one byte flipped. */
  corrupt: Set<string>;
}

export function sha256Hex(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The object id git gives a file: sha1 of "blob <size>\0" followed by the content. */
export function gitBlobSha1(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** A made-up but well-formed 40-hex commit id. */
export function fakeCommit(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly log: LoggedRequest[] = [];
  readonly faults: Faults = { corrupt: new Set() };
  url = "";
  private readonly server: Server;
  private safetyTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.server = createServer((req, res) => {
      const path = req.url ?? "/";
      const entry: LoggedRequest = { method: req.method ?? "", path, headers: req.headers, status: 0 };
      this.log.push(entry);
      res.on("finish", () => (entry.status = res.statusCode));
      this.route(req.method ?? "GET", path, req.headers, res);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, "127.0.0.1", done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    // Bounded: whatever a test forgets, the server goes away on its own.
    this.safetyTimer = setTimeout(() => void this.close(), 60_000);
    this.safetyTimer.unref();
    return this;
  }

  async close(): Promise<void> {
    clearTimeout(this.safetyTimer);
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  requests(method: string, pathPart = ""): LoggedRequest[] {
    return this.log.filter((r) => r.method === method && r.path.includes(pathPart));
  }

  private blobBySha(sha: string): Buffer | undefined {
    for (const repo of this.repos.values()) {
      for (const files of Object.values(repo.commits)) {
        for (const file of Object.values(files)) if (file.lfs && sha256Hex(file.content) === sha) return file.content;
      }
    }
    return undefined;
  }

  private route(method: string, path: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    if (path.startsWith("/cdn/")) {
      res.writeHead(302, { Location: `/storage/${path.slice(5)}` }).end();
      return;
    }
    if (path.startsWith("/storage/")) {
      const sha = path.slice(9);
      const blob = this.blobBySha(sha);
      if (!blob) {
        res.writeHead(404).end();
        return;
      }
      const bytes = this.faults.corrupt.has(sha) ? Buffer.from(blob.map((b, i) => (i === 0 ? b ^ 0xff : b))) : blob;
      this.serveBytes(method, headers, res, bytes, {});
      return;
    }
    const at = path.indexOf("/resolve/");
    if (at < 0) {
      res.writeHead(404).end();
      return;
    }
    const repoId = path.slice(1, at);
    const [revisionPart, ...fileParts] = path.slice(at + "/resolve/".length).split("/");
    const revision = decodeURIComponent(revisionPart ?? "");
    const filename = fileParts.map(decodeURIComponent).join("/");
    this.resolve(method, repoId, revision, filename, headers, res);
  }

  private resolve(
    method: string,
    repoId: string,
    revision: string,
    filename: string,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
  ): void {
    const repo = this.repos.get(repoId);
    const fail = (status: number, code: string, extra: Record<string, string> = {}) =>
      res.writeHead(status, { "X-Error-Code": code, "X-Error-Message": `${code} (fake hub)`, ...extra }).end();
    if (!repo) return void fail(404, "RepoNotFound");
    if (repo.renamedTo) {
      const file = filename.split("/").map(encodeURIComponent).join("/");
      res.writeHead(307, { Location: `/${repo.renamedTo}/resolve/${encodeURIComponent(revision)}/${file}` }).end();
      return;
    }
    if (repo.gatedToken !== undefined) {
      const auth = headers.authorization;
      if (!auth) return void fail(401, "GatedRepo");
      if (auth !== `Bearer ${repo.gatedToken}`) return void fail(403, "GatedRepo");
    }
    const commit = repo.refs[revision] ?? (repo.commits[revision] ? revision : undefined);
    if (!commit) return void fail(404, "RevisionNotFound");
    const file = repo.commits[commit]?.[filename];
    if (!file) return void fail(404, "EntryNotFound", { "X-Repo-Commit": commit });
    if (file.lfs) {
      const sha = sha256Hex(file.content);
      res
        .writeHead(302, {
          Location: `${this.url}/cdn/${sha}`,
          "X-Repo-Commit": commit,
          "X-Linked-Etag": `"${sha}"`,
          "X-Linked-Size": String(file.content.length),
          ETag: `"${gitBlobSha1(Buffer.from(`pointer ${sha}`))}"`, // the pointer file's own id, not the blob's
          "Content-Length": "0",
        })
        .end();
      return;
    }
    this.serveBytes(method, headers, res, file.content, { "X-Repo-Commit": commit, ETag: `"${gitBlobSha1(file.content)}"` });
  }

  private serveBytes(
    method: string,
    headers: IncomingHttpHeaders,
    res: ServerResponse,
    bytes: Buffer,
    extra: Record<string, string>,
  ): void {
    const range = /^bytes=(\d+)-$/.exec(headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start > bytes.length || (range && start === bytes.length)) {
      res.writeHead(416, { "Content-Range": `bytes */${bytes.length}`, ...extra }).end();
      return;
    }
    const body = bytes.subarray(start);
    const head = { "Content-Length": String(body.length), "Accept-Ranges": "bytes", ...extra };
    if (range) res.writeHead(206, { ...head, "Content-Range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` });
    else res.writeHead(200, head);
    if (method === "HEAD") return void res.end();
    const stallAfter = this.faults.stallNextBodyAfter;
    if (stallAfter !== undefined && stallAfter < body.length) {
      this.faults.stallNextBodyAfter = undefined;
      res.write(body.subarray(0, stallAfter)); // and never another byte: close() ends the socket
      return;
    }
    const dropAfter = this.faults.dropNextBodyAfter;
    if (dropAfter !== undefined && dropAfter < body.length) {
      this.faults.dropNextBodyAfter = undefined;
      // Close with FIN, not a reset: a reset may discard bytes the client has not read yet.
      res.write(body.subarray(0, dropAfter), () => res.socket?.end());
      return;
    }
    res.end(body);
  }
}
