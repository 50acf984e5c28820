// loadCausalLM's backend options, the model's worker threads' life cycle, and the load-time layout
// work (transposing HF GPT-2's Conv1D weights in place in the kernels' memory).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureFixtures, type Fixtures } from "../../scripts/make-fixtures.js";
import { convertHFToGGUF } from "../../src/convert/index.js";
import { LoomError } from "../../src/errors.js";
import { createWasmRuntime, WasmMatrix } from "../../src/kernels/wasm/index.js";
import { loadCausalLM, type LoadOptions } from "../../src/models/load.js";
import { createMatrix } from "../../src/nn/create-matrix.js";
import type { RowMatrix } from "../../src/nn/dense.js";
import { dequantize, quantize } from "../../src/tensor/dtypes.js";
import { PROMPTS } from "../oracle/prompts.js";
import { greedyRun } from "./greedy.js";

const root = mkdtempSync(join(tmpdir(), "loom-load-options-"));
after(() => rmSync(root, { recursive: true, force: true }));
let fixtures: Fixtures;
before(async () => {
  fixtures = await ensureFixtures();
});

test("bad backend, dtype and thread counts are LoomErrors that name the choices", async () => {
  const path = fixtures.models.gpt2.gguf.f32;
  const rejects = (options: LoadOptions, ...parts: string[]) =>
    assert.rejects(loadCausalLM(path, options), (e: unknown) => e instanceof LoomError && parts.every((p) => e.message.includes(p)));
  await rejects({ backend: "gpu" as LoadOptions["backend"] }, "gpu", "wasm", "js");
  await rejects({ dtype: "q5_k" as LoadOptions["dtype"] }, "q5_k", "q8_0", "q4_0", "f16", "f32");
  await rejects({ threads: 0 }, "threads", "0");
  await rejects({ threads: 1.5 }, "threads", "1.5");
});

test("dispose() stops the worker threads; the model then refuses to run", async () => {
  const model = await loadCausalLM(fixtures.models.gpt2.gguf.q8_0, { threads: 2 });
  await model.forward([1, 2, 3], 0, model.createCache());
  model.dispose?.();
  model.dispose?.(); // idempotent
  await assert.rejects(model.forward([1], 0, model.createCache()), (e: unknown) => e instanceof LoomError && /disposed/.test(e.message));
});

test("a process that never disposes its model still exits on its own", () => {
  const load = fileURLToPath(new URL("../../src/models/load.js", import.meta.url));
  const script = `
    const { loadCausalLM } = await import(${JSON.stringify(load)});
    const model = await loadCausalLM(${JSON.stringify(fixtures.models.llama.gguf.q8_0)}, { threads: 2 });
    await model.forward([1, 2, 3, 4, 5], 0, model.createCache());
    console.log("done");`;
  const start = performance.now();
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /done/);
  assert.ok(performance.now() - start < 30_000);
});

/** (rows, cols) → (cols, rows), element by element. */
function transposedValues(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

function rowsOf(matrix: RowMatrix): Float32Array {
  const out = new Float32Array(matrix.rows * matrix.cols);
  for (let r = 0; r < matrix.rows; r++) matrix.readRow(r, out, r * matrix.cols);
  return out;
}

test("Conv1D weights (stored in, out) are transposed once at load, in place when they are in the kernels' memory", () => {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    for (const [inFeatures, outFeatures] of [[5, 7], [33, 70], [64, 96], [1, 9]]) {
      const values = Float32Array.from({ length: inFeatures * outFeatures }, (_, i) => Math.sin(i) * 3);
      for (const dtype of ["f32", "f16", "bf16"] as const) {
        const stored = quantize(values, dtype, outFeatures); // (in, out), as the file holds it
        const expected = transposedValues(dequantize({ name: "w", dtype, shape: [inFeatures, outFeatures], bytes: stored }), inFeatures, outFeatures);
        const raw = (bytes: Uint8Array) => ({ name: "w", dtype, shape: [inFeatures, outFeatures], bytes });
        assert.deepEqual(rowsOf(createMatrix(raw(stored), { transposed: true })), expected, `TypeScript ${dtype}`);
        // Outside the kernels' memory: copied in, transposed on the way.
        const copied = createMatrix(raw(stored), { transposed: true, backend: { runtime } });
        assert.ok(copied instanceof WasmMatrix && copied.dtype === dtype);
        assert.deepEqual(rowsOf(copied), expected, `${dtype} ${inFeatures}×${outFeatures} copied`);
        // Inside it (where the readers put a file's tensors): the same bytes end up holding the transpose.
        const inside = runtime.allocate(stored.byteLength);
        inside.set(stored);
        const inPlace = createMatrix(raw(inside), { transposed: true, backend: { runtime } });
        assert.ok(inPlace instanceof WasmMatrix);
        assert.equal(inPlace.bytes.byteOffset, inside.byteOffset, "transposed in place");
        assert.deepEqual(rowsOf(inPlace), expected, `${dtype} ${inFeatures}×${outFeatures} in place`);
      }
    }
  } finally {
    runtime.dispose();
  }
});

test("types the kernels do not read (q5_0, q4_1) run as f32 in the kernels' memory, with the TypeScript reference's ids", async () => {
  for (const dtype of ["q5_0", "q4_1"] as const) {
    const path = join(root, `llama-${dtype}.gguf`);
    convertHFToGGUF(fixtures.models.llama.hf, path, { dtype });
    const runs = [];
    for (const options of [{ backend: "js" }, { threads: 2 }] as LoadOptions[]) {
      const model = await loadCausalLM(path, options);
      runs.push(await greedyRun(model, PROMPTS[0].ids, 12));
      model.dispose?.();
    }
    assert.deepEqual(runs[1].ids, runs[0].ids, dtype);
  }
});
