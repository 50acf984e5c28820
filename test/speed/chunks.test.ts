// The claim word that shares a matmul's chunks between threads (src/kernels/wasm/chunks.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chunksOf, claimChunk, closeWork, finishChunk, MAX_CHUNKS, openWork } from "../../src/kernels/wasm/chunks.js";
import { Control } from "../../src/kernels/wasm/layout.js";

test("chunks are claimed once each, in order; a closed or finished job hands out none", () => {
  const control = new Int32Array(new SharedArrayBuffer(4 * Control.length));
  for (const [job, chunks] of [[1, 8], [4095, 3], [4096, MAX_CHUNKS], [77, 1]]) {
    Atomics.store(control, Control.work, openWork(job, chunks));
    Atomics.store(control, Control.done, 0);
    assert.equal(chunksOf(Atomics.load(control, Control.work)), chunks);
    const claimed: number[] = [];
    for (let c = claimChunk(control); c >= 0 && claimed.length < chunks; c = claimChunk(control)) {
      claimed.push(c);
      finishChunk(control, chunks);
      if (claimed.length === 1 && chunks > 2) {
        // Closing mid-job: the unclaimed rest is reported and never handed out.
        assert.equal(closeWork(control), chunks - 1);
        assert.equal(claimChunk(control), -1);
        break;
      }
    }
    if (chunks > 2) assert.deepEqual(claimed, [0]);
    else assert.deepEqual(claimed, Array.from({ length: chunks }, (_, i) => i));
    assert.equal(claimChunk(control), -1);
    assert.equal(closeWork(control), 0);
  }
});
