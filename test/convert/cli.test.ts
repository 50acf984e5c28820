// `loom convert` end to end: through the `loom` entry point, and the command's own argument handling.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertCommand } from "../../src/cli/convert.js";
import { exportGPT2Onnx } from "../../src/convert/onnx/index.js";
import { openGGUF } from "../../src/weights/gguf.js";
import { TINY, writeTinyHF } from "./tiny.js";

const root = mkdtempSync(join(tmpdir(), "loom-convert-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));
const hf = writeTinyHF(join(root, "tiny-llama"), TINY.llama);
const loomBin = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

test("loom convert --model HF --out FILE --dtype q8_0 writes a Q8_0 GGUF and says what it wrote", () => {
  const out = join(root, "tiny-q8_0.gguf");
  const run = spawnSync(process.execPath, [loomBin, "convert", "--model", hf, "--out", out, "--dtype", "q8_0"], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /wrote .*tiny-q8_0\.gguf \(llama, 21 tensors: .*q8_0/);
  const file = openGGUF(out);
  try {
    assert.equal(file.metadata.get("general.file_type"), 7);
    assert.equal(file.metadata.get("general.name"), "tiny-llama");
  } finally {
    file.close?.();
  }
});

test("loom convert requantizes a GGUF, and rejects bad arguments with a message and no output", async () => {
  const f16 = join(root, "tiny-f16.gguf"), q4 = join(root, "tiny-q4_k.gguf");
  assert.equal(await convertCommand(["--model", hf, "--out", f16, "--quiet"]), 0);
  assert.equal(await convertCommand(["--model", f16, "--out", q4, "--dtype", "Q4_K", "--quiet"]), 0);
  const file = openGGUF(q4);
  try {
    assert.equal(file.metadata.get("general.file_type"), 14);
    assert.equal(file.get("blk.0.ffn_gate.weight").dtype, "q5_0"); // 64-value rows: q4_k's fallback
  } finally {
    file.close?.();
  }
  assert.equal(await convertCommand(["--help"]), 0);
  assert.equal(await convertCommand(["--model", hf]), 2);
  await assert.rejects(convertCommand(["--model", hf, "--out", join(root, "bad.gguf"), "--dtype", "q3_k"]), /unknown dtype "q3_k"/);
  await assert.rejects(convertCommand(["--model", join(root, "nowhere"), "--out", join(root, "bad.gguf")]), /no such file or folder/);
  assert.equal(existsSync(join(root, "bad.gguf")), false);
  const run = spawnSync(process.execPath, [loomBin, "convert", "--bogus"], { encoding: "utf8" });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /loom: .*bogus/);
});

test("loom convert --out FILE.onnx writes GPT-2 as ONNX (f32 or int8) and refuses other types and models", async () => {
  const gpt2 = writeTinyHF(join(root, "tiny-gpt2"), TINY.gpt2);
  const f32 = join(root, "tiny.onnx"), int8 = join(root, "tiny-int8.onnx");
  const run = spawnSync(process.execPath, [loomBin, "convert", "--model", gpt2, "--out", f32], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /wrote .*tiny\.onnx \(gpt2 ONNX, f32, \d+ nodes/);
  // The same bytes the exporter (tested against onnxruntime in onnx.test.ts) writes for this folder.
  const direct = join(root, "direct.onnx");
  exportGPT2Onnx(gpt2, direct);
  assert.deepEqual(readFileSync(f32), readFileSync(direct));
  assert.equal(await convertCommand(["--model", gpt2, "--out", int8, "--dtype", "int8", "--quiet"]), 0);
  assert.ok(statSync(int8).size < statSync(f32).size, "int8 weights make a smaller file");
  await assert.rejects(convertCommand(["--model", gpt2, "--out", join(root, "x.onnx"), "--dtype", "q8_0", "--quiet"]), /f32 or int8/);
  await assert.rejects(convertCommand(["--model", hf, "--out", join(root, "y.onnx"), "--quiet"]), /gpt2/);
  assert.equal(existsSync(join(root, "x.onnx")) || existsSync(join(root, "y.onnx")), false);
});
