// The runtime around the kernels: shared memory and its allocator, weights used in place, input
// checks, the worker pool's life cycle, files read on every thread.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LoomError } from "../../src/errors.js";
import { createWasmRuntime, createWasmMatrix, matmulTogether } from "../../src/kernels/wasm/index.js";
import { READ_CHUNK_BYTES } from "../../src/kernels/wasm/read-job.js";
import { activations, quantizedWeights, seeded } from "./random.js";
import { assertSameBits } from "./compare.js";

test("allocate hands out aligned, disjoint views of one shared memory, growing it as needed", () => {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    const a = runtime.allocate(10);
    const b = runtime.allocate(3 << 20); // forces growth
    const c = runtime.allocate(100, 256);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.equal(a.byteOffset % 64, 0);
    assert.equal(b.byteOffset % 64, 0);
    assert.equal(c.byteOffset % 256, 0);
    assert.ok(a.byteOffset + a.byteLength <= b.byteOffset && b.byteOffset + b.byteLength <= c.byteOffset);
    a.fill(7);
    b.fill(9);
    assert.equal(a[9], 7, "views made before growth still see the memory");
    assert.equal(runtime.offsetOf(a), a.byteOffset);
    assert.equal(runtime.offsetOf(new Uint8Array(16)), undefined);
    assert.throws(() => runtime.allocate(-1), LoomError);
    assert.throws(() => runtime.allocate(5 * 2 ** 30), /4 GiB/);
  } finally {
    runtime.dispose();
  }
});

test("weights already in the shared memory are used in place; others are copied in once", () => {
  const runtime = createWasmRuntime({ threads: 2, minParallelWork: 0 });
  try {
    const random = seeded(3);
    const [rows, cols, n] = [9, 64, 3];
    const file = quantizedWeights(random, "q8_0", rows, cols);
    const inPlace = runtime.allocate(file.byteLength);
    inPlace.set(file);
    const before = runtime.allocatedBytes;
    const a = createWasmMatrix({ dtype: "q8_0", shape: [rows, cols], bytes: inPlace }, runtime);
    assert.ok(a);
    assert.equal(a.bytes.byteOffset, inPlace.byteOffset);
    assert.equal(runtime.allocatedBytes, before, "no copy");
    const b = createWasmMatrix({ dtype: "q8_0", shape: [rows, cols], bytes: file }, runtime);
    assert.ok(b);
    assert.notEqual(b.bytes.byteOffset, inPlace.byteOffset);

    // Activations and outputs may live in the shared memory too (no copies through scratch).
    const x = activations(random, n * cols);
    const outA = new Float32Array(n * rows);
    a.matmul(outA, x, n);
    const sharedX = runtime.allocateF32(n * cols);
    sharedX.set(x);
    const sharedOut = runtime.allocateF32(n * rows);
    b.matmul(sharedOut, sharedX, n);
    assertSameBits(sharedOut, outA, "in place vs copied");

    // A row reads back as f32 (what an embedding needs), dense or quantized.
    const row = new Float32Array(cols + 2);
    a.readRow(4, row, 2);
    assert.equal(row[0], 0);
    assert.ok(row.subarray(2).some((v) => v !== 0));
    const dense = activations(random, rows * cols);
    const f32 = createWasmMatrix({ dtype: "f32", shape: [rows, cols], bytes: new Uint8Array(dense.buffer) }, runtime);
    assert.ok(f32);
    f32.readRow(7, row, 1);
    assertSameBits(row.subarray(1, 1 + cols), dense.subarray(7 * cols, 8 * cols), "f32 readRow");
  } finally {
    runtime.dispose();
  }
});

test("unsupported dtypes give null, f16 ∞/NaN weights give null, bad shapes and sizes throw", () => {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    assert.equal(createWasmMatrix({ dtype: "q5_k", shape: [1, 256], bytes: new Uint8Array(176) }, runtime), null);
    const halves = new Uint16Array(64).fill(0x3c00);
    halves[17] = 0x7c00;
    assert.equal(createWasmMatrix({ dtype: "f16", shape: [2, 32], bytes: new Uint8Array(halves.buffer) }, runtime), null);
    halves[17] = 0x3c00;
    assert.ok(createWasmMatrix({ dtype: "f16", shape: [2, 32], bytes: new Uint8Array(halves.buffer) }, runtime));

    const named = (shape: number[], bytes: number, dtype: "f32" | "q4_k" = "f32") =>
      () => createWasmMatrix({ name: "blk.0.ffn_up.weight", dtype, shape, bytes: new Uint8Array(bytes) }, runtime);
    assert.throws(named([2, 3, 4], 96), /blk\.0\.ffn_up\.weight.*2-D/);
    assert.throws(named([2, 3], 20), /blk\.0\.ffn_up\.weight.*24 bytes, got 20/);
    assert.throws(named([2, 100], 288, "q4_k"), /blocks of 256/);

    const matrix = createWasmMatrix({ name: "w", dtype: "f32", shape: [2, 3], bytes: new Uint8Array(24) }, runtime);
    assert.ok(matrix);
    assert.throws(() => matrix.matmul(new Float32Array(4), new Float32Array(5), 2), /needs x of 6/);
    assert.throws(() => matrix.matmul(new Float32Array(3), new Float32Array(6), 2), /out of 4/);
    assert.throws(() => matrix.matmul(new Float32Array(4), new Float32Array(6), 1.5), LoomError);
    assert.throws(() => matrix.readRow(2, new Float32Array(3), 0), /row 2/);
    matrix.matmul(new Float32Array(0), new Float32Array(0), 0); // nothing to do
  } finally {
    runtime.dispose();
  }
  assert.throws(() => createWasmRuntime({ threads: 0 }), LoomError);
});

test("after dispose a matmul throws instead of hanging", () => {
  const runtime = createWasmRuntime({ threads: 2, minParallelWork: 0 });
  const matrix = createWasmMatrix({ dtype: "f32", shape: [4, 4], bytes: new Uint8Array(64) }, runtime);
  assert.ok(matrix);
  matrix.matmul(new Float32Array(4), new Float32Array(4), 1);
  runtime.dispose();
  runtime.dispose();
  assert.throws(() => matrix.matmul(new Float32Array(4), new Float32Array(4), 1), /disposed/);
});

test("matmuls work before the workers are up, and use them once `ready` resolves", async () => {
  const runtime = createWasmRuntime({ threads: 2, minParallelWork: 0 });
  try {
    const random = seeded(8);
    const w = activations(random, 33 * 40);
    const matrix = createWasmMatrix({ dtype: "f32", shape: [33, 40], bytes: new Uint8Array(w.buffer) }, runtime);
    assert.ok(matrix);
    const x = activations(random, 5 * 40);
    const early = new Float32Array(5 * 33);
    matrix.matmul(early, x, 5); // workers cannot have started: this thread computes alone
    await runtime.ready();
    assert.ok(runtime.parallel);
    const late = new Float32Array(5 * 33);
    matrix.matmul(late, x, 5);
    assertSameBits(late, early, "alone vs pooled");
  } finally {
    runtime.dispose();
  }
});

test("a process with a live pool exits on its own (workers never hold it open)", () => {
  const runtimeUrl = new URL("../../src/kernels/wasm/index.js", import.meta.url).href;
  const script = `
    import { createWasmRuntime, createWasmMatrix } from ${JSON.stringify(runtimeUrl)};
    const runtime = createWasmRuntime({ threads: 2, minParallelWork: 0 });
    const m = createWasmMatrix({ dtype: "f32", shape: [8, 8], bytes: new Uint8Array(256) }, runtime);
    const out = new Float32Array(8);
    m.matmul(out, new Float32Array(8).fill(1), 1);
    console.log("done");
  `;
  const started = Date.now();
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 20_000,
    cwd: fileURLToPath(new URL(".", import.meta.url)),
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), "done");
  assert.ok(Date.now() - started < 20_000);
});

test("the committed kernels.wasm is what the AssemblyScript sources compile to", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const check = spawnSync(process.execPath, ["src/kernels/wasm/build.mjs", "--check"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});

test("matmulTogether: several matrices sharing x in one job give each matrix's own product, bit for bit", async () => {
  const runtime = createWasmRuntime({ threads: 2, minParallelWork: 0 });
  try {
    await runtime.ready();
    const random = seeded(11);
    const cols = 256;
    for (const dtype of ["f32", "q8_0", "q4_0", "q4_k"] as const) {
      const shapes = [13, 8, 5]; // rows of each matrix: not multiples of 4, so chunks straddle them
      const matrices = shapes.map((rows) => {
        const bytes = dtype === "f32" ? new Uint8Array(activations(random, rows * cols).buffer) : quantizedWeights(random, dtype, rows, cols);
        const m = createWasmMatrix({ name: `${dtype} ${rows}`, dtype, shape: [rows, cols], bytes }, runtime);
        assert.ok(m);
        return m;
      });
      for (const n of [1, 3, 6]) {
        const x = activations(random, n * cols);
        const together = shapes.map((rows) => new Float32Array(n * rows));
        assert.equal(matmulTogether(matrices, together, x, n), true);
        matrices.forEach((m, i) => {
          const alone = new Float32Array(n * m.rows);
          m.matmul(alone, x, n);
          assertSameBits(together[i], alone, `${dtype} matrix ${i}, ${n} tokens`);
        });
      }
    }
    // Matrices that cannot share a job are declined, not mixed.
    const f32 = createWasmMatrix({ dtype: "f32", shape: [4, cols], bytes: new Uint8Array(4 * cols * 4) }, runtime)!;
    const q8 = createWasmMatrix({ dtype: "q8_0", shape: [4, cols], bytes: quantizedWeights(random, "q8_0", 4, cols) }, runtime)!;
    assert.equal(matmulTogether([f32, q8], [new Float32Array(4), new Float32Array(4)], new Float32Array(cols), 1), false);
  } finally {
    runtime.dispose();
  }
});

test("released regions are reused before the heap grows", () => {
  const runtime = createWasmRuntime({ threads: 1 });
  try {
    const a = runtime.allocateF32(1 << 16);
    const top = runtime.allocatedBytes;
    runtime.release(a);
    const b = runtime.allocateF32(1 << 15);
    const c = runtime.allocateF32(1 << 14);
    assert.equal(runtime.allocatedBytes, top, "both fit in the released region");
    assert.equal(b.byteOffset, a.byteOffset);
    assert.ok(c.byteOffset >= b.byteOffset + b.byteLength && c.byteOffset + c.byteLength <= a.byteOffset + a.byteLength);
    runtime.release(new Float32Array(8)); // not ours: ignored
    runtime.allocateF32(1 << 17);
    assert.ok(runtime.allocatedBytes > top, "a larger request grows the heap");
  } finally {
    runtime.dispose();
  }
});

test("readInto reads a file into the shared memory on every thread, the same bytes as one read", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-read-"));
  const runtime = createWasmRuntime({ threads: 2 });
  try {
    await runtime.ready();
    // Three chunks and an odd tail, from an odd position in the file.
    const position = 4099, length = 2 * READ_CHUNK_BYTES + 12345;
    const bytes = new Uint8Array(position + length);
    const random = seeded(77);
    for (let i = 0; i < bytes.length; i += 4096) bytes.fill(Math.floor(random() * 256), i, i + 4096);
    for (let i = 0; i < bytes.length; i += 997) bytes[i] = i & 255; // so no two chunks look alike
    const path = join(dir, "weights.bin");
    writeFileSync(path, bytes);
    const fd = openSync(path, "r");
    try {
      const into = runtime.allocate(length);
      assert.equal(runtime.readInto(fd, position, into), true);
      assert.ok(Buffer.from(into).equals(Buffer.from(bytes.subarray(position))), "bytes differ from the file's");
      // Declined, reading nothing: small sections, and views outside the shared memory.
      const small = runtime.allocate(1000);
      assert.equal(runtime.readInto(fd, position, small), false);
      assert.equal(small[0], 0);
      assert.equal(runtime.readInto(fd, position, new Uint8Array(length)), false);
      // Past the end of the file: an error, not a hang or silent zeros.
      assert.throws(() => runtime.readInto(fd, position + 100, runtime.allocate(length)), LoomError);
    } finally {
      closeSync(fd);
    }
  } finally {
    runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("transpose on every thread: in place and out of place, 4- and 2-byte values, against a plain loop", async () => {
  const runtime = createWasmRuntime({ threads: 2 });
  try {
    await runtime.ready();
    const random = seeded(91);
    // 4.4 MB: the copy into scratch takes two units, the transpose 35 bands of 32 rows.
    for (const [rows, cols, elementBytes] of [[1100, 1000, 4], [333, 70, 2]] as const) {
      const bytes = rows * cols * elementBytes;
      const values = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i++) values[i] = Math.floor(random() * 256);
      const want = new Uint8Array(bytes);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          for (let b = 0; b < elementBytes; b++) want[(c * rows + r) * elementBytes + b] = values[(r * cols + c) * elementBytes + b];
        }
      }
      const inPlace = runtime.allocate(bytes);
      inPlace.set(values);
      runtime.transpose(inPlace, inPlace, rows, cols, elementBytes);
      assert.ok(Buffer.from(inPlace).equals(Buffer.from(want)), `(${rows}, ${cols}) × ${elementBytes} bytes, in place`);
      const into = runtime.allocate(bytes);
      runtime.transpose(values, into, rows, cols, elementBytes);
      assert.ok(Buffer.from(into).equals(Buffer.from(want)), `(${rows}, ${cols}) × ${elementBytes} bytes, from outside`);
    }
  } finally {
    runtime.dispose();
  }
});
