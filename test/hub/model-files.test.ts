import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveModelFiles, resolveModelPath, shardFilesOfIndex, HubError } from "../../src/hub/index.js";
import { LoomError } from "../../src/errors.js";
import { FakeHub, fakeCommit, type FakeFile, type FakeRepo } from "./fake-hub.js";
import { MAIN, isolateEnv, removeTempDirs, seededBytes, startHub, tempDir } from "./helpers.js";

let hub: FakeHub;
let restoreEnv: () => void;
let cacheDir: string;

const json = (value: unknown): FakeFile => ({ content: Buffer.from(JSON.stringify(value)) });

/** A repo whose weights are split in two shards behind model.safetensors.index.json. */
function shardedRepo(commit: string): FakeRepo {
  const weightMap = { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00001-of-00002.safetensors" };
  return {
    refs: { main: commit },
    commits: {
      [commit]: {
        "config.json": json({ model_type: "llama" }),
        "generation_config.json": json({ do_sample: true }),
        "tokenizer.json": json({ model: { type: "BPE" } }),
        "special_tokens_map.json": json({ eos_token: "</s>" }),
        "model.safetensors.index.json": json({ metadata: { total_size: 30_000 }, weight_map: weightMap }),
        "model-00001-of-00002.safetensors": { content: seededBytes(20_000, 11), lfs: true },
        "model-00002-of-00002.safetensors": { content: seededBytes(10_000, 12), lfs: true },
        "README.md": { content: Buffer.from("not needed") },
      },
    },
  };
}

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
});

describe("resolveModelFiles", () => {
  test("single-file weights: one snapshot folder with what a causal LM needs, optional files skipped", async () => {
    const folder = await resolveModelFiles("loom-test/tiny", { cacheDir });
    assert.equal(folder, join(cacheDir, "models--loom-test--tiny", "snapshots", MAIN));
    assert.deepEqual(readdirSync(folder).sort(), ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    // Absent optional files are remembered like huggingface_hub does, so the next call does not ask again.
    const noExist = join(cacheDir, "models--loom-test--tiny", ".no_exist", MAIN);
    assert.deepEqual(readdirSync(noExist).sort(), ["generation_config.json", "special_tokens_map.json"]);
  });

  test("sharded weights: the index and every shard it names, once each", async () => {
    const commit = fakeCommit("sharded");
    hub.repos.set("org/sharded", shardedRepo(commit));
    const folder = await resolveModelFiles("org/sharded", { cacheDir });
    assert.deepEqual(readdirSync(folder).sort(), [
      "config.json",
      "generation_config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "special_tokens_map.json",
      "tokenizer.json",
    ]);
    assert.deepEqual(readFileSync(join(folder, "model-00002-of-00002.safetensors")), seededBytes(10_000, 12));
    assert.equal(hub.requests("HEAD", "model-00001-of-00002").length, 1); // named by two tensors, fetched once
    assert.equal(hub.requests("GET", "/storage/").length, 2);
  });

  test("a second call asks the hub once (config.json) and downloads nothing", async () => {
    const first = await resolveModelFiles("loom-test/tiny", { cacheDir });
    hub.log.length = 0;
    assert.equal(await resolveModelFiles("loom-test/tiny", { cacheDir }), first);
    assert.deepEqual(hub.log.map((r) => `${r.method} ${r.path}`), ["HEAD /loom-test/tiny/resolve/main/config.json"]);
  });

  test("every file comes from config.json's commit even if main moves mid-download", async () => {
    const before = fakeCommit("before");
    const moved = fakeCommit("moved");
    const repo = shardedRepo(before);
    repo.commits[moved] = { ...shardedRepo(moved).commits[moved]!, "tokenizer.json": json({ changed: true }) };
    hub.repos.set("org/moving", repo);
    const folder = await resolveModelFiles("org/moving", {
      cacheDir,
      onProgress: () => (repo.refs.main = moved), // the branch moves as soon as bytes flow
    });
    assert.equal(folder, join(cacheDir, "models--org--moving", "snapshots", before));
    assert.deepEqual(JSON.parse(readFileSync(join(folder, "tokenizer.json"), "utf8")), { model: { type: "BPE" } });
  });

  test("offline: the cached folder with no request; nothing cached gives a clear error", async () => {
    const folder = await resolveModelFiles("loom-test/tiny", { cacheDir });
    hub.log.length = 0;
    assert.equal(await resolveModelFiles("loom-test/tiny", { cacheDir, offline: true }), folder);
    await assert.rejects(resolveModelFiles("loom-test/tiny", { cacheDir: tempDir(), offline: true }), (e: unknown) => {
      return e instanceof HubError && e.code === "NotInCache" && e.message.includes('"config.json"') && e.message.includes("loom-test/tiny");
    });
    assert.equal(hub.log.length, 0);
  });

  test("a repo without safetensors weights is refused by name", async () => {
    const commit = fakeCommit("pytorch-only");
    hub.repos.set("org/pt", { refs: { main: commit }, commits: { [commit]: { "config.json": json({}), "tokenizer.json": json({}) } } });
    await assert.rejects(resolveModelFiles("org/pt", { cacheDir }), (e: unknown) => {
      return e instanceof HubError && e.message.includes("model.safetensors.index.json") && e.message.includes("org/pt");
    });
  });
});

describe("resolveModelPath", () => {
  test("existing local folders and .gguf files are returned as they are", async () => {
    const folder = tempDir();
    const gguf = join(folder, "tiny.gguf");
    writeFileSync(gguf, "GGUF");
    assert.equal(await resolveModelPath(folder), folder);
    assert.equal(await resolveModelPath(gguf), gguf);
    assert.equal(hub.log.length, 0);
  });

  test("hub ids go to the hub; a path that does not exist is an error, not a hub request", async () => {
    hub.repos.set("tiny-gpt2", shardedRepo(fakeCommit("single-name")));
    const folder = await resolveModelPath("tiny-gpt2", { cacheDir });
    assert.ok(existsSync(join(folder, "config.json")));
    assert.ok(folder.startsWith(join(cacheDir, "models--tiny-gpt2", "snapshots")));
    hub.log.length = 0;
    for (const path of ["./missing-folder", "/no/such/model.gguf", "missing.gguf", "~/nothing-here"]) {
      await assert.rejects(resolveModelPath(path, { cacheDir }), (e: unknown) => e instanceof LoomError && /No such file or folder/.test(e.message));
    }
    assert.equal(hub.log.length, 0);
  });
});

describe("shardFilesOfIndex", () => {
  test("unique sorted shard names; malformed indexes are named in the error", () => {
    const index = JSON.stringify({ weight_map: { x: "b.safetensors", y: "a.safetensors", z: "b.safetensors" } });
    assert.deepEqual(shardFilesOfIndex(index, "idx"), ["a.safetensors", "b.safetensors"]);
    assert.throws(() => shardFilesOfIndex("{", "my/index.json"), /my\/index.json is not valid JSON/);
    assert.throws(() => shardFilesOfIndex("{}", "idx"), /weight_map/);
    assert.throws(() => shardFilesOfIndex(JSON.stringify({ weight_map: { x: "../evil" } }), "idx"), /file name/);
  });
});
