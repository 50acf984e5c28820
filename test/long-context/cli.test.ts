// `loom generate --prompt-ids <~2,000 ids> --json` on a checkpoint folder: the real CLI (default
// chunked prefill) prints the continuation that one-shot prefill + greedy decode gives on the same files.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCausalLM } from "../../src/models/load.js";
import { writeSafetensors } from "../../src/weights/safetensors-write.js";
import { hfConfig, randomWeights } from "../families/fixtures.js";
import { toWrite } from "../models/fixtures.js";
import { greedyRun, LLAMA_LONG, longPrompt } from "./helpers.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "loom-long-context-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("loom generate: a 2,000-token --prompt-ids prompt continues exactly as one-shot prefill", async () => {
  const spec = LLAMA_LONG;
  writeFileSync(join(root, "config.json"), JSON.stringify(hfConfig(spec)));
  writeSafetensors(join(root, "model.safetensors"), toWrite(randomWeights(spec, 21)));
  const prompt = longPrompt(2000, spec.vocab, 21);

  const run = spawnSync(process.execPath, [
    CLI, "generate", "--model", root, "--prompt-ids", prompt.join(","), "--max-new-tokens", "8", "--json",
  ], { encoding: "utf8", timeout: 60_000, env: { ...process.env, HF_HUB_OFFLINE: "1" } });
  assert.equal(run.status, 0, `loom generate failed:\n${run.stderr}`);
  const printed = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { ids: number[]; text: string };

  const oneShot = await greedyRun(await loadCausalLM(root), prompt, 8, prompt.length);
  assert.deepEqual(printed.ids, oneShot.ids);
});
