// Keys and values of a WebAssembly model live in its runtime's shared memory, which the garbage
// collector does not see filling up: generate hands every cache back when a row (or a beam) ends,
// so any number of calls runs in the memory of the first ones.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { ensureFixtures, type Fixtures } from "../../scripts/make-fixtures.js";
import { createWasmRuntime } from "../../src/kernels/wasm/index.js";
import { generate } from "../../src/generation/index.js";
import { architectureForGGUF } from "../../src/models/registry.js";
import { openGGUF } from "../../src/weights/gguf.js";

let fixtures: Fixtures;
before(async () => {
  fixtures = await ensureFixtures();
});

test("repeated generate calls (greedy, sampled copies, beams) do not grow the runtime's memory", async () => {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    const source = openGGUF(fixtures.models.llama.gguf.f32, { allocate: (bytes) => runtime.allocate(bytes) });
    const arch = architectureForGGUF(source);
    const model = arch.build(arch.configFromGGUF!(source), source, "gguf", { backend: { runtime } });
    const prompt = [1, 5, 9, 14, 3];
    const calls = [
      () => generate(model, prompt, { maxNewTokens: 6 }),
      () => generate(model, prompt, { maxNewTokens: 6, doSample: true, numReturnSequences: 3, seed: 1 }),
      () => generate(model, prompt, { maxNewTokens: 6, numBeams: 3, numReturnSequences: 2 }),
    ];
    for (const call of calls) await call(); // first use: buffers and scratch reach their size
    const settled = runtime.allocatedBytes;
    for (let round = 0; round < 10; round++) for (const call of calls) await call();
    assert.equal(runtime.allocatedBytes, settled, "30 more calls must reuse the released caches' memory");
  } finally {
    runtime.dispose();
  }
});
