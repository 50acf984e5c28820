import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scanCacheDir } from "@huggingface/hub";
import { hfHubDownload, HubError, type DownloadProgress } from "../../src/hub/index.js";
import { LoomError } from "../../src/errors.js";
import { hubErrorFromStatus } from "../../src/hub/errors.js";
import { FakeHub, fakeCommit, gitBlobSha1, sha256Hex } from "./fake-hub.js";
import { MAIN, OLD, isolateEnv, removeTempDirs, seededBytes, startHub, tempDir, tinyRepo, withEnv } from "./helpers.js";

const REPO = "loom-test/tiny";
let hub: FakeHub;
let restoreEnv: () => void;
let cacheDir: string;

before(async () => {
  hub = await startHub();
  restoreEnv = isolateEnv(hub.url);
});
after(async () => {
  await hub.close();
  restoreEnv();
  removeTempDirs();
});
beforeEach(() => {
  cacheDir = tempDir();
  hub.log.length = 0;
  hub.repos.set(REPO, tinyRepo());
  hub.faults.corrupt.clear();
  hub.faults.dropNextBodyAfter = undefined;
  hub.faults.stallNextBodyAfter = undefined;
});

function fileAt(commit: string, filename: string): Buffer {
  return tinyRepo().commits[commit]![filename]!.content;
}

async function expectHubError(promise: Promise<unknown>, code: string, ...mentions: string[]): Promise<HubError> {
  const error = await promise.then(
    () => assert.fail(`expected a HubError ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof HubError, `expected HubError, got ${String(error)}`);
  assert.ok(error instanceof LoomError);
  assert.equal(error.code, code, error.message);
  for (const text of mentions) assert.ok(error.message.includes(text), `"${text}" missing from: ${error.message}`);
  return error;
}

describe("fresh download", () => {
  test("makes huggingface_hub's exact layout: blobs/<etag>, relative snapshot symlinks, refs/main", async () => {
    const config = await hfHubDownload(REPO, "config.json", { cacheDir });
    const weights = await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    const nested = await hfHubDownload(REPO, "onnx/model.onnx", { cacheDir });
    const root = join(cacheDir, "models--loom-test--tiny");

    assert.equal(config, join(root, "snapshots", MAIN, "config.json"));
    // A regular file's ETag is its git blob sha1; an LFS file's is the sha256 of its content.
    const configEtag = gitBlobSha1(fileAt(MAIN, "config.json"));
    const weightsEtag = sha256Hex(fileAt(MAIN, "model.safetensors"));
    assert.ok(lstatSync(config).isSymbolicLink());
    assert.equal(readlinkSync(config), `../../blobs/${configEtag}`);
    assert.equal(readlinkSync(weights), `../../blobs/${weightsEtag}`);
    assert.equal(readlinkSync(nested), `../../../blobs/${gitBlobSha1(fileAt(MAIN, "onnx/model.onnx"))}`);
    assert.deepEqual(readFileSync(join(root, "blobs", weightsEtag)), fileAt(MAIN, "model.safetensors"));
    assert.deepEqual(readFileSync(config), fileAt(MAIN, "config.json"));
    assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), MAIN); // no trailing newline
    assert.deepEqual(readdirSync(join(root, "blobs")).filter((f) => f.endsWith(".incomplete")), []);

    // The peer's cache scanner (huggingface.js) reads our cache as a valid HF cache.
    const scan = await scanCacheDir(cacheDir);
    assert.deepEqual(scan.warnings, []);
    assert.equal(scan.repos.length, 1);
    const repo = scan.repos[0]!;
    assert.deepEqual(repo.id, { name: REPO, type: "model" });
    assert.equal(repo.revisions.length, 1);
    assert.equal(repo.revisions[0]!.commitOid, MAIN);
    assert.deepEqual(repo.revisions[0]!.refs, ["main"]);
    const blobs = repo.revisions[0]!.files.map((f) => f.blob.path.split("/").pop()).sort();
    assert.ok(blobs.includes(configEtag) && blobs.includes(weightsEtag));
  });

  test("HEAD is not redirected; the GET follows the absolute CDN redirect and then a relative one", async () => {
    await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    const sequence = hub.log.map((r) => `${r.method} ${r.path.split("/").slice(0, 2).join("/")} ${r.status}`);
    assert.deepEqual(sequence, ["HEAD /loom-test 302", "GET /cdn 302", "GET /storage 200"]);
  });

  test("an empty file is cached like any other", async () => {
    hub.repos.get(REPO)!.commits[MAIN]!["empty.txt"] = { content: Buffer.alloc(0) };
    const path = await hfHubDownload(REPO, "empty.txt", { cacheDir });
    assert.equal(readlinkSync(path), `../../blobs/${gitBlobSha1(Buffer.alloc(0))}`);
    assert.equal(readFileSync(path).length, 0);
  });

  test("reports progress ending with a done event at the full size", async () => {
    const events: DownloadProgress[] = [];
    await hfHubDownload(REPO, "model.safetensors", { cacheDir, onProgress: (p) => events.push(p) });
    const last = events.at(-1)!;
    assert.equal(last.done, true);
    assert.equal(last.totalBytes, 50_000);
    assert.equal(last.downloadedBytes, 50_000);
    const counts = events.map((e) => e.downloadedBytes);
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
  });
});

describe("cache hits", () => {
  test("a second call makes one HEAD and no GET", async () => {
    const first = await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    hub.log.length = 0;
    const second = await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    assert.equal(second, first);
    assert.deepEqual(hub.log.map((r) => r.method), ["HEAD"]);
  });

  test("a known blob is linked into a new snapshot without a GET", async () => {
    await hfHubDownload(REPO, "tokenizer.json", { cacheDir, revision: "v1" });
    hub.log.length = 0;
    const path = await hfHubDownload(REPO, "tokenizer.json", { cacheDir });
    assert.equal(path, join(cacheDir, "models--loom-test--tiny", "snapshots", MAIN, "tokenizer.json"));
    assert.deepEqual(hub.log.map((r) => r.method), ["HEAD"]);
  });

  test("reuses a cache laid out by Python's huggingface_hub (the layout its docs show)", async () => {
    // Built by hand exactly as hf_hub_download leaves it, without any Loom code.
    const commit = fakeCommit("python");
    const content = Buffer.from('{"model_type": "llama"}');
    const etag = gitBlobSha1(content);
    const root = join(cacheDir, "models--someone--py-model");
    mkdirSync(join(root, "blobs"), { recursive: true });
    mkdirSync(join(root, "refs"), { recursive: true });
    mkdirSync(join(root, "snapshots", commit), { recursive: true });
    writeFileSync(join(root, "blobs", etag), content);
    writeFileSync(join(root, "refs", "main"), commit);
    symlinkSync(`../../blobs/${etag}`, join(root, "snapshots", commit, "config.json"));
    hub.repos.set("someone/py-model", { refs: { main: commit }, commits: { [commit]: { "config.json": { content } } } });

    const online = await hfHubDownload("someone/py-model", "config.json", { cacheDir });
    assert.deepEqual(readFileSync(online), content);
    assert.deepEqual(hub.log.map((r) => r.method), ["HEAD"]);
    hub.log.length = 0;
    const offline = await hfHubDownload("someone/py-model", "config.json", { cacheDir, offline: true });
    assert.equal(offline, online);
    assert.equal(hub.log.length, 0);
  });
});

describe("offline", () => {
  test("offline: true and HF_HUB_OFFLINE=1 resolve from the cache with no request", async () => {
    const online = await hfHubDownload(REPO, "config.json", { cacheDir });
    hub.log.length = 0;
    assert.equal(await hfHubDownload(REPO, "config.json", { cacheDir, offline: true }), online);
    await withEnv({ HF_HUB_OFFLINE: "1" }, async () => {
      assert.equal(await hfHubDownload(REPO, "config.json", { cacheDir }), online);
    });
    assert.equal(hub.log.length, 0);
  });

  test("a missing file gives a clear error naming the repo, the revision and the file", async () => {
    await hfHubDownload(REPO, "config.json", { cacheDir });
    hub.log.length = 0;
    await expectHubError(hfHubDownload(REPO, "tokenizer.json", { cacheDir, offline: true }), "NotInCache", REPO, '"main"', '"tokenizer.json"', "offline");
    await withEnv({ HF_HUB_OFFLINE: "yes" }, () =>
      expectHubError(hfHubDownload(REPO, "config.json", { cacheDir, revision: "v1" }), "NotInCache", REPO, '"v1"', "HF_HUB_OFFLINE"),
    );
    assert.equal(hub.log.length, 0);
  });
});

describe("resumable, verified downloads", () => {
  const etag = () => sha256Hex(fileAt(MAIN, "model.safetensors"));
  const blobsDir = () => join(cacheDir, "models--loom-test--tiny", "blobs");

  test("a partial .incomplete file is resumed with a Range request and the result verifies", async () => {
    const full = fileAt(MAIN, "model.safetensors");
    mkdirSync(blobsDir(), { recursive: true });
    writeFileSync(join(blobsDir(), `${etag()}.incomplete`), full.subarray(0, 20_000));
    const path = await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    const storage = hub.requests("GET", "/storage/");
    assert.equal(storage.length, 1);
    assert.equal(storage[0]!.headers.range, "bytes=20000-");
    assert.equal(storage[0]!.status, 206);
    assert.deepEqual(readFileSync(path), full);
    assert.equal(existsSync(join(blobsDir(), `${etag()}.incomplete`)), false);
  });

  test("a connection dropped mid-body is resumed in the same call", async () => {
    hub.faults.dropNextBodyAfter = 12_345;
    const path = await hfHubDownload(REPO, "model.safetensors", { cacheDir, retryDelayMs: 1 });
    const storage = hub.requests("GET", "/storage/");
    assert.equal(storage.length, 2);
    assert.equal(storage[0]!.headers.range, undefined);
    assert.match(String(storage[1]!.headers.range), /^bytes=[1-9]\d*-$/);
    assert.equal(storage[1]!.status, 206);
    assert.equal(sha256Hex(readFileSync(path)), etag());
  });

  test("a connection that goes silent times out and the download resumes instead of hanging", async () => {
    hub.faults.stallNextBodyAfter = 8_000;
    const path = await hfHubDownload(REPO, "model.safetensors", { cacheDir, timeoutMs: 400, retryDelayMs: 1 });
    const storage = hub.requests("GET", "/storage/");
    assert.ok(storage.length >= 2); // more if a busy machine lets a resumed GET time out too
    for (const retry of storage.slice(1)) assert.match(String(retry.headers.range), /^bytes=[1-9]\d*-$/);
    assert.equal(sha256Hex(readFileSync(path)), etag());
  });

  test("with no retries left the partial file is kept, and the next call resumes it", async () => {
    hub.faults.dropNextBodyAfter = 30_000;
    await expectHubError(hfHubDownload(REPO, "model.safetensors", { cacheDir, maxRetries: 0 }), "Interrupted", "model.safetensors", "resumes");
    const partial = readFileSync(join(blobsDir(), `${etag()}.incomplete`));
    assert.ok(partial.length > 0 && partial.length <= 30_000);
    assert.deepEqual(partial, fileAt(MAIN, "model.safetensors").subarray(0, partial.length));
    hub.log.length = 0;
    const path = await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    assert.equal(hub.requests("GET", "/storage/")[0]!.headers.range, `bytes=${partial.length}-`);
    assert.deepEqual(readFileSync(path), fileAt(MAIN, "model.safetensors"));
  });

  test("a sha256 mismatch is detected and the bad file is not kept", async () => {
    hub.faults.corrupt.add(etag());
    await expectHubError(hfHubDownload(REPO, "model.safetensors", { cacheDir }), "ChecksumMismatch", "sha256", etag(), "model.safetensors");
    assert.deepEqual(readdirSync(blobsDir()), []);
    assert.equal(existsSync(join(cacheDir, "models--loom-test--tiny", "snapshots", MAIN, "model.safetensors")), false);
    hub.faults.corrupt.clear();
    const path = await hfHubDownload(REPO, "model.safetensors", { cacheDir });
    assert.equal(sha256Hex(readFileSync(path)), etag());
  });
});

describe("tokens and access errors", () => {
  beforeEach(() => {
    hub.repos.set("org/gated", { ...tinyRepo(), gatedToken: "hf_good" });
  });

  test("a gated repo without a token fails with a message that suggests HF_TOKEN", async () => {
    const error = await expectHubError(hfHubDownload("org/gated", "config.json", { cacheDir }), "GatedRepo", "org/gated", "HF_TOKEN");
    assert.equal(error.status, 401);
    const wrong = await expectHubError(hfHubDownload("org/gated", "config.json", { cacheDir, token: "hf_bad" }), "GatedRepo");
    assert.equal(wrong.status, 403);
  });

  test("the token is sent as a Bearer token to the hub, never to the CDN", async () => {
    const path = await hfHubDownload("org/gated", "model.safetensors", { cacheDir, token: "hf_good" });
    assert.deepEqual(readFileSync(path), fileAt(MAIN, "model.safetensors"));
    assert.equal(hub.requests("HEAD")[0]!.headers.authorization, "Bearer hf_good");
    for (const r of hub.requests("GET")) assert.equal(r.headers.authorization, undefined, r.path);
  });

  test("the token comes from HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the stored login file", async () => {
    await withEnv({ HF_TOKEN: "hf_good" }, () => hfHubDownload("org/gated", "config.json", { cacheDir: tempDir() }));
    await withEnv({ HUGGING_FACE_HUB_TOKEN: "hf_good" }, () => hfHubDownload("org/gated", "config.json", { cacheDir: tempDir() }));
    writeFileSync(join(process.env.HF_HOME!, "token"), "hf_good\n");
    await hfHubDownload("org/gated", "tokenizer.json", { cacheDir: tempDir() });
    await expectHubError(hfHubDownload("org/gated", "config.json", { cacheDir: tempDir(), token: false }), "GatedRepo");
    assert.ok(hub.requests("HEAD").slice(0, 3).every((r) => r.headers.authorization === "Bearer hf_good"));
  });

  test("401/403 without an X-Error-Code suggest HF_TOKEN, and say when a sent token was refused", () => {
    const ctx = { repoId: "org/private", revision: "main", filename: "config.json", endpoint: hub.url, tokenSent: false };
    const anonymous = hubErrorFromStatus(401, undefined, undefined, undefined, ctx);
    assert.equal(anonymous.code, "Unauthorized");
    assert.match(anonymous.message, /HF_TOKEN/);
    assert.match(anonymous.message, /org\/private/);
    const refused = hubErrorFromStatus(403, undefined, "Invalid credentials", undefined, { ...ctx, tokenSent: true });
    assert.match(refused.message, /token that was sent/);
    assert.match(refused.message, /Invalid credentials/);
    assert.equal(hubErrorFromStatus(500, undefined, undefined, undefined, ctx).code, "Http");
  });

  test("404s say which of repo, revision or file is missing (X-Error-Code)", async () => {
    await expectHubError(hfHubDownload("org/nope", "config.json", { cacheDir }), "RepoNotFound", '"org/nope"', "HF_TOKEN");
    await expectHubError(hfHubDownload(REPO, "config.json", { cacheDir, revision: "dev" }), "RevisionNotFound", '"dev"', REPO);
    await expectHubError(hfHubDownload(REPO, "nothing.bin", { cacheDir }), "EntryNotFound", "File not found in repo", '"nothing.bin"', REPO);
    // As huggingface_hub does, the absence is remembered under .no_exist/<commit>/.
    assert.ok(existsSync(join(cacheDir, "models--loom-test--tiny", ".no_exist", MAIN, "nothing.bin")));
  });
});

describe("revisions and redirects", () => {
  test("a commit hash revision: its own snapshot, no ref, and a second call makes no request", async () => {
    const path = await hfHubDownload(REPO, "config.json", { cacheDir, revision: OLD });
    assert.equal(path, join(cacheDir, "models--loom-test--tiny", "snapshots", OLD, "config.json"));
    assert.deepEqual(readFileSync(path), fileAt(OLD, "config.json"));
    assert.equal(existsSync(join(cacheDir, "models--loom-test--tiny", "refs")), false);
    hub.log.length = 0;
    assert.equal(await hfHubDownload(REPO, "config.json", { cacheDir, revision: OLD }), path);
    assert.equal(hub.log.length, 0);
  });

  test("a tag is recorded in refs/<tag>", async () => {
    const path = await hfHubDownload(REPO, "model.safetensors", { cacheDir, revision: "v1" });
    assert.equal(readFileSync(join(cacheDir, "models--loom-test--tiny", "refs", "v1"), "utf8"), OLD);
    assert.deepEqual(readFileSync(path), fileAt(OLD, "model.safetensors"));
  });

  test("a renamed repo's relative redirect is followed by the HEAD; files stay under the id asked for", async () => {
    hub.repos.set("old-org/tiny", { ...tinyRepo(), renamedTo: REPO });
    const path = await hfHubDownload("old-org/tiny", "config.json", { cacheDir });
    assert.equal(path, join(cacheDir, "models--old-org--tiny", "snapshots", MAIN, "config.json"));
    assert.deepEqual(hub.log.map((r) => `${r.method} ${r.status}`), ["HEAD 307", "HEAD 200", "GET 200"]);
  });

  test("without a connection the cached copy is used; without one either, a Network error names the file", async () => {
    const cached = await hfHubDownload(REPO, "config.json", { cacheDir });
    const down = "http://127.0.0.1:9"; // discard port: nothing listens
    assert.equal(await hfHubDownload(REPO, "config.json", { cacheDir, endpoint: down }), cached);
    await expectHubError(hfHubDownload(REPO, "tokenizer.json", { cacheDir, endpoint: down }), "Network", '"tokenizer.json"', REPO);
  });
});

describe("bad input", () => {
  test("repo ids and file names that could leave the cache are refused", async () => {
    for (const id of ["../x", "a/b/c", "a--b/c", "", "org/.hidden"]) {
      await assert.rejects(hfHubDownload(id, "config.json", { cacheDir }), (e: unknown) => e instanceof LoomError && /repo id/.test(e.message));
    }
    for (const name of ["../secret", "/etc/passwd", "a//b", "a\\b", ""]) {
      await assert.rejects(hfHubDownload(REPO, name, { cacheDir }), (e: unknown) => e instanceof LoomError && /file name/.test(e.message));
    }
    assert.equal(hub.log.length, 0);
  });

  test("seeded fixture bytes are deterministic", () => {
    assert.deepEqual(seededBytes(64, 7), seededBytes(64, 7));
    assert.notDeepEqual(seededBytes(64, 7), seededBytes(64, 8));
  });
});
