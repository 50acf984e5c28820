// An interrupted and resumed run must continue exactly where the uninterrupted one would have been:
// same weights, optimizer state, data order (rng) and loss history, bit for bit.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TRAIN_OPTIONS, train, type TrainOptions } from "../../src/train/trainer.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { mobyDickSample } from "./tiny-run.js";

const root = mkdtempSync(join(tmpdir(), "loom-train-resume-"));
after(() => rmSync(root, { recursive: true, force: true }));
const corpus = join(root, "corpus.txt");
writeFileSync(corpus, mobyDickSample(60_000));

function options(out: string, steps: number): TrainOptions {
  return {
    ...DEFAULT_TRAIN_OPTIONS, data: corpus, out: join(root, out), name: "resume-test", vocabSize: 300, dim: 32, layers: 2, heads: 2,
    kvHeads: 1, seqLen: 32, steps, batch: 4, accum: 2, warmup: 2, evalEvery: 3, evalWindows: 4, checkpointEvery: 2, threads: 1, gguf: false,
  };
}

test("stop at step 3, resume to 6: identical to 6 steps straight", async () => {
  const straight = await train(options("straight", 6));
  assert.equal(straight.finished, true);

  let steps = 0;
  const first = await train(options("resumed", 6), { onStep: () => steps++, shouldStop: () => steps >= 3 });
  assert.equal(first.finished, false);
  assert.equal(first.stepsDone, 3);
  assert.equal(existsSync(join(root, "resumed", "model.safetensors")), false, "no export before the last step");
  assert.equal(loadCheckpoint(join(root, "resumed", "checkpoint.bin")).meta.step, 3);
  const second = await train(options("resumed", 6), {}, true);
  assert.equal(second.finished, true);

  const a = loadCheckpoint(join(root, "straight", "checkpoint.bin"));
  const b = loadCheckpoint(join(root, "resumed", "checkpoint.bin"));
  assert.equal(b.meta.step, 6);
  assert.deepEqual(b.params, a.params);
  assert.deepEqual(b.adamM, a.adamM);
  assert.deepEqual(b.adamV, a.adamV);
  assert.deepEqual(b.meta.rng, a.meta.rng);
  assert.deepEqual(b.meta.history, a.meta.history);
  assert.deepEqual(readFileSync(join(root, "resumed", "model.safetensors")), readFileSync(join(root, "straight", "model.safetensors")));
  assert.match(readFileSync(join(root, "resumed", "loss.svg"), "utf8"), /<svg[\s\S]*<polyline[\s\S]*<\/svg>/);
});

test("a fresh run refuses to overwrite an existing checkpoint, and a missing one cannot be resumed", async () => {
  await assert.rejects(train(options("straight", 6)), /exists: pass --resume/);
  await assert.rejects(train(options("nothing-here", 6), {}, true), /no checkpoint at/);
});

test("a truncated checkpoint is a clear error", () => {
  const path = join(root, "straight", "checkpoint.bin");
  const bytes = readFileSync(path);
  const cut = join(root, "cut.bin");
  writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadCheckpoint(cut), /expected \d+ bytes of parameters and optimizer state/);
});
