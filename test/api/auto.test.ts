// AutoTokenizer / AutoModelForCausalLM.fromPretrained on a folder, a tokenizer.json, a .gguf and a
// hub id served by a local fake hub; and the errors bad arguments get.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, LoomError, PreTrainedModel } from "../../src/index.js";
import { HubError } from "../../src/hub/errors.js";
import { FakeHub, fakeCommit, type FakeFile } from "../hub/fake-hub.js";
import { tempDir, removeTempDirs } from "../hub/helpers.js";
import { gpt2Files, hfTokenizer } from "../tokenizers/helpers.js";
import { apiFixtures, EOS, SPEC } from "./fixtures.js";

const fx = apiFixtures();
after(() => {
  fx.cleanup();
  removeTempDirs();
});

const TEXTS = ["In a shocking discovery, scientists found", " héllo wörld 🙂\n\tcode(x) {}", "a<|endoftext|>b", ""];

test("AutoTokenizer: a folder, its tokenizer.json and the GGUF twin tokenize as @huggingface/tokenizers does", async () => {
  const oracle = hfTokenizer(gpt2Files());
  const tokenizers = [
    await AutoTokenizer.fromPretrained(fx.hfDir),
    await AutoTokenizer.fromPretrained(join(fx.hfDir, "tokenizer.json")),
    await AutoTokenizer.fromPretrained(fx.ggufPath),
  ];
  for (const text of TEXTS) {
    const expected = oracle.encode(text).ids;
    for (const tokenizer of tokenizers) {
      assert.deepEqual(tokenizer.encode(text), expected, JSON.stringify(text));
      if (expected.length > 0) assert.equal(tokenizer.decode(expected), oracle.decode(expected, { skip_special_tokens: false }));
    }
  }
  assert.equal(tokenizers[0].eosTokenId, EOS);
  assert.equal(tokenizers[2].eosTokenId, EOS);
});

test("AutoModelForCausalLM: the folder and the GGUF twin give the same greedy ids, with config and tokenizer attached", async () => {
  const fromDir = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const fromGguf = await AutoModelForCausalLM.fromPretrained(fx.ggufPath);
  assert.ok(fromDir instanceof PreTrainedModel);
  for (const model of [fromDir, fromGguf]) {
    assert.equal(model.config.architecture, "gpt2");
    assert.equal(model.config.vocabSize, SPEC.vocab);
    assert.ok(model.tokenizer, "tokenizer attached");
  }
  const ids = fromDir.tokenizer!.encode("In a shocking discovery");
  assert.deepEqual(await fromGguf.generate(ids, { maxNewTokens: 6 }), await fromDir.generate(ids, { maxNewTokens: 6 }));
  // logits() is HF's model(input_ids).logits: one row per position, the last one what forward gives.
  const rows = await fromDir.logits(ids);
  assert.equal(rows.length, ids.length);
  const last = await fromDir.forward(ids, 0, fromDir.createCache());
  assert.deepEqual(rows[ids.length - 1], last);
});

/** The fixture folder as a hub repo: weights as an LFS file, the rest as regular files. */
function startHubWith(repoId: string, files: Record<string, Buffer>): Promise<FakeHub> {
  const commit = fakeCommit(repoId);
  const content: Record<string, FakeFile> = {};
  for (const [name, bytes] of Object.entries(files)) content[name] = { content: bytes, lfs: name.endsWith(".safetensors") };
  const hub = new FakeHub();
  hub.repos.set(repoId, { refs: { main: commit }, commits: { [commit]: content } });
  return hub.start();
}

test("a hub id: AutoTokenizer fetches only tokenizer files, AutoModel the rest, offline reuses the cache", async () => {
  const repo = "loom-test/gpt2-tiny";
  const hub = await startHubWith(repo, fx.files(fx.hfDir));
  try {
    const cacheDir = tempDir("loom-api-cache-");
    const hubOptions = { endpoint: hub.url, cacheDir, token: false as const };

    const tokenizer = await AutoTokenizer.fromPretrained(repo, hubOptions);
    const fetched = hub.requests("GET").map((r) => r.path);
    assert.ok(fetched.some((p) => p.endsWith("/tokenizer.json")), fetched.join("\n"));
    assert.ok(!fetched.some((p) => /safetensors|config\.json$/.test(p) && !p.endsWith("tokenizer_config.json")), `fetched weights or config:\n${fetched.join("\n")}`);
    const local = await AutoTokenizer.fromPretrained(fx.hfDir);
    for (const text of TEXTS) assert.deepEqual(tokenizer.encode(text), local.encode(text));
    // tokenizer_config.json came along: the chat template renders.
    assert.equal(tokenizer.applyChatTemplate([{ role: "user", content: "hi" }]), local.applyChatTemplate([{ role: "user", content: "hi" }]));

    const model = await AutoModelForCausalLM.fromPretrained(repo, hubOptions);
    const localModel = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
    const ids = tokenizer.encode("scientists found");
    assert.deepEqual(await model.generate(ids, { maxNewTokens: 5 }), await localModel.generate(ids, { maxNewTokens: 5 }));

    await hub.close();
    const offline = { cacheDir, offline: true };
    const cachedTokenizer = await AutoTokenizer.fromPretrained(repo, offline);
    assert.deepEqual(cachedTokenizer.encode(TEXTS[0]), local.encode(TEXTS[0]));
    await AutoModelForCausalLM.fromPretrained(repo, offline);
    await assert.rejects(
      AutoTokenizer.fromPretrained(repo, { cacheDir: tempDir("loom-api-empty-"), offline: true }),
      (e: unknown) => e instanceof HubError && e.code === "NotInCache" && /tokenizer\.json/.test(e.message),
    );
  } finally {
    await hub.close().catch(() => undefined);
  }
});

test("a hub repo without tokenizer.json falls back to vocab.json + merges.txt; with neither, a clear error", async () => {
  const files = fx.files(fx.hfDir);
  const tokenizerJson = JSON.parse(files["tokenizer.json"].toString()) as { model: { vocab: Record<string, number>; merges: string[] } };
  const gpt2Style = {
    "vocab.json": Buffer.from(JSON.stringify(tokenizerJson.model.vocab)),
    "merges.txt": Buffer.from(`#version: 0.2\n${tokenizerJson.model.merges.join("\n")}\n`),
    "config.json": files["config.json"],
  };
  const hub = await startHubWith("loom-test/old-style", gpt2Style);
  hub.repos.set("loom-test/no-tokenizer", { refs: { main: fakeCommit("x") }, commits: { [fakeCommit("x")]: { "config.json": { content: files["config.json"] } } } });
  try {
    const options = { endpoint: hub.url, cacheDir: tempDir("loom-api-cache-"), token: false as const };
    const tokenizer = await AutoTokenizer.fromPretrained("loom-test/old-style", options);
    const local = await AutoTokenizer.fromPretrained(fx.hfDir);
    for (const text of TEXTS.slice(0, 2)) assert.deepEqual(tokenizer.encode(text), local.encode(text));
    await assert.rejects(AutoTokenizer.fromPretrained("loom-test/no-tokenizer", options), (e: unknown) => e instanceof HubError && /no tokenizer\.json/.test(e.message));
  } finally {
    await hub.close();
  }
});

test("bad arguments are LoomErrors that name the problem", async () => {
  await assert.rejects(AutoTokenizer.fromPretrained("./no/such/folder"), (e: unknown) => e instanceof LoomError && /No such file or folder/.test(e.message));
  await assert.rejects(AutoModelForCausalLM.fromPretrained("/no/such/model.gguf"), LoomError);
  await assert.rejects(AutoTokenizer.fromPretrained(""), LoomError);
  await assert.rejects(AutoTokenizer.fromPretrained(fx.bareDir), (e: unknown) => e instanceof LoomError && /tokenizer\.json/.test(e.message));
  // A model folder without a tokenizer still loads; it runs from ids.
  const bare = await AutoModelForCausalLM.fromPretrained(fx.bareDir);
  assert.equal(bare.tokenizer, undefined);
  assert.equal((await bare.generate([1, 2, 3], { maxNewTokens: 2 }))[0].length, 5);
});
