// `loom bench --json` on a tiny generated model, in a child process as `npm run bench` runs it:
// the last line is one JSON object with every field, of the right type and consistent with the
// request. No timed assertions.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBenchGGUF } from "../../bench/checkpoints.js";
import type { BenchModel } from "../../bench/model-specs.js";
import { randomPrompt } from "../../src/cli/bench.js";
import { bestOfRounds } from "../../bench/rounds.js";

const root = mkdtempSync(join(tmpdir(), "loom-bench-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

const TINY: BenchModel = {
  id: "tiny", title: "tiny SmolLM-like",
  shape: { arch: "llama", vocab: 320, hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 96, positions: 64, ropeTheta: 100000, tied: true },
  vocab: "gpt2", ggufDTypes: ["q8_0"], hfFolder: false,
};

function bench(...args: string[]) {
  return spawnSync(process.execPath, [cli, "bench", ...args], { encoding: "utf8" });
}

test("loom bench --json prints the figures as its last line", () => {
  const model = join(root, "tiny-q8_0.gguf");
  writeBenchGGUF(TINY, "q8_0", model);
  const run = bench("--model", model, "--prompt-tokens", "8", "--new-tokens", "5", "--threads", "1", "--json");
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split("\n");
  const result = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
  for (const key of ["prefill_tps", "decode_tps", "load_ms", "peak_rss_mb", "weights_load_ms", "prefill_ms", "decode_ms", "kv_cache_mb"]) {
    assert.equal(typeof result[key], "number", key);
    assert.ok(Number.isFinite(result[key]) && (result[key] as number) > 0, `${key} = ${result[key]}`);
  }
  assert.ok((result.load_ms as number) >= (result.weights_load_ms as number));
  assert.equal(result.architecture, "llama");
  assert.equal(result.threads, 1);
  assert.equal(result.prompt_tokens, 8);
  assert.equal(result.new_tokens, 5);
  assert.equal(result.logits_finite, true);
  // Keys and values of 2 layers × 2 KV heads × 16 dims, f32, for the 13 positions held.
  assert.equal(result.kv_cache_mb, (2 * 2 * 2 * 16 * 13 * 4) / 1e6);
  assert.ok(result.kv_allocated_mb === null || (result.kv_allocated_mb as number) >= (result.kv_cache_mb as number));
  assert.equal(typeof result.node, "string");
  // The decode warm-up: 256 steps asked, cut to the timed run's 8 + 5 positions (its cache then
  // needs no more room than the timed one's) after the 8-token throwaway prompt.
  assert.equal(result.warmup_tokens, 5);
  assert.ok((result.warmup_decode_tps as number) > 0);
  const cold = bench("--model", model, "--prompt-tokens", "8", "--new-tokens", "2", "--threads", "1", "--warmup-tokens", "0", "--json");
  assert.equal(cold.status, 0, cold.stderr);
  const coldResult = JSON.parse(cold.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  assert.equal(coldResult.warmup_tokens, 0);
  assert.equal(coldResult.warmup_decode_tps, 0);
});

test("loom bench rejects bad requests with a message", () => {
  const missing = bench("--prompt-tokens", "8");
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--model is required/);
  const model = join(root, "tiny-q8_0.gguf");
  const tooLong = bench("--model", model, "--prompt-tokens", "60", "--new-tokens", "10");
  assert.equal(tooLong.status, 1);
  assert.match(tooLong.stderr, /exceed the model's 64/);
  const badInt = bench("--model", model, "--threads", "two");
  assert.equal(badInt.status, 1);
  assert.match(badInt.stderr, /--threads expects an integer/);
  const badWarmup = bench("--model", model, "--warmup-tokens=-1");
  assert.equal(badWarmup.status, 1);
  assert.match(badWarmup.stderr, /--warmup-tokens must be at least 0/);
});

test("the random prompt is seeded and stays inside the vocabulary", () => {
  const a = randomPrompt(200, 50, 3);
  assert.deepEqual(a, randomPrompt(200, 50, 3));
  assert.notDeepEqual(a, randomPrompt(200, 50, 4));
  assert.ok(a.every((id) => Number.isInteger(id) && id >= 0 && id < 50));
  assert.ok(new Set(a).size > 40, "covers the vocabulary");
});

test("rounds combine into each engine's best figures", () => {
  const rows = [
    { engine: "x", loom: true, load_ms: 900, prefill_tps: 50, decode_tps: 10, peak_rss_mb: 300, kv_mb: 2, note: "first" },
    { engine: "x", loom: true, missing: "exit 1: boom" },
    { engine: "x", loom: true, load_ms: 700, prefill_tps: 40, decode_tps: 12, peak_rss_mb: 310, kv_mb: 2, note: "third" },
  ];
  assert.deepEqual(bestOfRounds(rows), {
    engine: "x", loom: true, load_ms: 700, prefill_tps: 50, decode_tps: 12, peak_rss_mb: 300, kv_mb: 2,
    note: "third; best of 2 rounds; 1 round(s) failed: exit 1: boom",
  });
  assert.deepEqual(bestOfRounds([rows[1]]), rows[1]);
});
