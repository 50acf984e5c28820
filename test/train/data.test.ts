import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDocuments, sampleBatch, splitDocuments, validationWindows } from "../../src/train/data.js";
import { Rng } from "../../src/train/rng.js";
import { lossCurveSvg } from "../../src/train/loss-plot.js";

test("the built-in corpora load from their npm packages", () => {
  const moby = loadDocuments("moby-dick");
  assert.ok(moby.length > 100);
  assert.ok(moby.some((d) => d.text.includes("Call me Ishmael.")));
  const both = loadDocuments("moby-dick,sotu");
  assert.ok(both.length > moby.length + 200);
  assert.ok(both.reduce((n, d) => n + d.text.length, 0) > 11_000_000);
});

test("the split is deterministic, disjoint and holds out about 5%", () => {
  const docs = loadDocuments("moby-dick,sotu");
  const a = splitDocuments(docs);
  const b = splitDocuments(docs);
  assert.deepEqual(a.validation.map((d) => d.text.length), b.validation.map((d) => d.text.length));
  const held = new Set(a.validation);
  assert.ok(a.train.every((d) => !held.has(d)));
  assert.equal(a.train.length + a.validation.length, docs.length);
  const share = a.validation.length / docs.length;
  assert.ok(share > 0.03 && share < 0.07, `validation share ${share}`);
  assert.ok(a.validation.some((d) => d.source === "moby-dick") && a.validation.some((d) => d.source === "sotu"));
});

test("text files become documents; unknown names are LoomErrors", () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-data-"));
  try {
    const path = join(dir, "a.txt");
    writeFileSync(path, "one paragraph\n\nanother paragraph\n");
    assert.deepEqual(loadDocuments(path).map((d) => d.text), ["one paragraph\n\nanother paragraph\n"]);
    assert.throws(() => loadDocuments("no-such-corpus"), /neither a built-in corpus/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("batches are windows of the stream with targets shifted by one", () => {
  const stream = Int32Array.from({ length: 100 }, (_, i) => i);
  const tokens = new Int32Array(3 * 10);
  const targets = new Int32Array(3 * 10);
  sampleBatch(stream, 3, 10, new Rng(1), tokens, targets);
  for (let b = 0; b < 3; b++) {
    for (let t = 0; t < 10; t++) {
      assert.equal(targets[b * 10 + t], tokens[b * 10 + t] + 1);
      if (t > 0) assert.equal(tokens[b * 10 + t], tokens[b * 10 + t - 1] + 1);
    }
  }
  assert.deepEqual(validationWindows(stream, 10, 100), [0, 10, 20, 30, 40, 50, 60, 70, 80]);
  assert.throws(() => sampleBatch(stream, 1, 100, new Rng(1), tokens, targets), /too few/);
});

test("the loss curve is an SVG with a train line and validation points", () => {
  const svg = lossCurveSvg([
    { step: 1, loss: 8, lr: 1e-4, gradNorm: 1 },
    { step: 2, loss: 6, lr: 2e-4, gradNorm: 1, valLoss: 6.5 },
    { step: 3, loss: 5, lr: 2e-4, gradNorm: 1, valLoss: 5.5 },
  ], "a <title>");
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 2 + 1); // two points + the legend marker
  assert.ok(svg.includes("a &lt;title&gt;"));
  assert.ok(svg.trimEnd().endsWith("</svg>"));
});
