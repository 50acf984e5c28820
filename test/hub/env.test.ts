import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { hubCacheDir, hubEndpoint, hubToken, isOfflineFromEnv, repoFolderName } from "../../src/hub/index.js";
import { isolateEnv, removeTempDirs, tempDir, withEnv } from "./helpers.js";

let restoreEnv: () => void;
before(() => {
  restoreEnv = isolateEnv("http://127.0.0.1:9");
});
after(() => {
  restoreEnv();
  removeTempDirs();
});

test("the cache folder follows the same variables, in the same order, as huggingface.js (and Python)", async () => {
  const cases: Record<string, string | undefined>[] = [
    { HF_HOME: undefined },
    { HF_HOME: "/tmp/hf-home" },
    { HF_HOME: undefined, XDG_CACHE_HOME: "/tmp/xdg" },
    { HF_HOME: "/tmp/hf-home", XDG_CACHE_HOME: "/tmp/xdg" },
    { HF_HOME: "/tmp/hf-home", HUGGINGFACE_HUB_CACHE: "/tmp/legacy-hub" },
    { HF_HOME: "/tmp/hf-home", HUGGINGFACE_HUB_CACHE: "/tmp/legacy-hub", HF_HUB_CACHE: "/tmp/new-hub" },
  ];
  for (const vars of cases) {
    await withEnv(vars, () => assert.equal(hubCacheDir(), getHFHubCachePath(), JSON.stringify(vars)));
  }
  await withEnv({ HF_HOME: undefined }, () => assert.equal(hubCacheDir(), join(homedir(), ".cache", "huggingface", "hub")));
  await withEnv({ HF_HUB_CACHE: "~/elsewhere" }, () => assert.equal(hubCacheDir(), join(homedir(), "elsewhere")));
});

test("repo folder names match huggingface.js", () => {
  for (const name of ["gpt2", "HuggingFaceTB/SmolLM2-135M", "org/model.v2_x"]) {
    assert.equal(repoFolderName(name), getRepoFolderName({ name, type: "model" }));
  }
});

test("endpoint, offline flag and token come from the environment", async () => {
  await withEnv({ HF_ENDPOINT: undefined }, () => assert.equal(hubEndpoint(), "https://huggingface.co"));
  await withEnv({ HF_ENDPOINT: "http://mirror.local/" }, () => assert.equal(hubEndpoint(), "http://mirror.local"));
  for (const value of ["1", "true", "ON", "yes"]) {
    await withEnv({ HF_HUB_OFFLINE: value }, () => assert.equal(isOfflineFromEnv(), true, value));
  }
  for (const value of ["0", "false", "", undefined]) {
    await withEnv({ HF_HUB_OFFLINE: value }, () => assert.equal(isOfflineFromEnv(), false, String(value)));
  }
  await withEnv({ TRANSFORMERS_OFFLINE: "1" }, () => assert.equal(isOfflineFromEnv(), true));

  assert.equal(hubToken(), undefined);
  const home = tempDir();
  writeFileSync(join(home, "token"), "hf_from_file\n");
  await withEnv({ HF_HOME: home }, async () => {
    assert.equal(hubToken(), "hf_from_file");
    await withEnv({ HUGGING_FACE_HUB_TOKEN: "hf_legacy" }, async () => {
      assert.equal(hubToken(), "hf_legacy");
      await withEnv({ HF_TOKEN: "hf_new" }, () => assert.equal(hubToken(), "hf_new"));
    });
  });
});
