import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dequantize, float32View, quantize } from "../../src/tensor/dtypes.js";
import { openSafetensors, openSafetensorsFolder } from "../../src/weights/safetensors.js";
import { writeSafetensors, writeSafetensorsSharded } from "../../src/weights/safetensors-write.js";
import { openWeights, withPrefix } from "../../src/weights/open.js";
import type { TensorToWrite } from "../../src/weights/encode.js";
import { assertLoomError, gaussian, seededRandom, slowNearestF16, tempDir } from "./helpers.js";

const { dir, cleanup } = tempDir();
after(cleanup);

function sampleTensors(seed: number): TensorToWrite[] {
  const random = seededRandom(seed);
  return [
    { name: "model.embed_tokens.weight", dtype: "f16", shape: [5, 7], data: gaussian(random, 35) },
    { name: "model.layers.0.self_attn.q_proj.weight", dtype: "bf16", shape: [2, 3, 4], data: gaussian(random, 24) },
    { name: "model.norm.weight", dtype: "f32", shape: [7], data: gaussian(random, 7) },
    { name: "lm_head.weight", dtype: "f32", shape: [3, 7], data: gaussian(random, 21) },
    { name: "scalar", dtype: "f32", shape: [], data: new Float32Array([2.5]) },
    { name: "empty", dtype: "f16", shape: [0, 3], data: new Float32Array(0) },
    { name: "prequantized", dtype: "bf16", shape: [2], data: new Uint8Array([0x80, 0x3f, 0x00, 0xc0]) }, // 1, -2
  ];
}

function expectedBytes(t: TensorToWrite): Uint8Array {
  return t.data instanceof Uint8Array ? t.data : quantize(t.data, t.dtype, Math.max(1, t.data.length));
}

/** Reads the header with plain JSON, independently of the reader, to check the on-disk format. */
function rawHeader(path: string): { json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; dataStart: number } {
  const bytes = readFileSync(path);
  const length = Number(bytes.readBigUInt64LE(0));
  return { json: JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")), dataStart: 8 + length };
}

test("single file: every dtype and shape round-trips with identical bytes, metadata included", () => {
  const path = join(dir, "single.safetensors");
  const tensors = sampleTensors(1);
  writeSafetensors(path, tensors, { format: "pt", note: "ü" });
  const source = openSafetensors(path);
  assert.equal(source.origin, path);
  assert.deepEqual(Object.fromEntries(source.metadata), { format: "pt", note: "ü" });
  assert.deepEqual(source.names().sort(), tensors.map((t) => t.name).sort());
  for (const t of tensors) {
    const raw = source.get(t.name);
    assert.equal(raw.dtype, t.dtype);
    assert.deepEqual(raw.shape, t.shape);
    assert.deepEqual(raw.bytes, expectedBytes(t), t.name);
  }
  assert.deepEqual(float32View(source.get("model.norm.weight")), tensors[2].data);
  assert.deepEqual([...dequantize(source.get("prequantized"))], [1, -2]);
  const f16 = source.get("model.embed_tokens.weight").bytes;
  for (let i = 0; i < 35; i++) assert.equal(f16[2 * i] | (f16[2 * i + 1] << 8), slowNearestF16((tensors[0].data as Float32Array)[i]));

  // The file follows the format: data starts 8-byte aligned, offsets tile the data section without
  // holes, and wider dtypes come first so each tensor is aligned to its element size.
  const { json, dataStart } = rawHeader(path);
  assert.equal(dataStart % 8, 0);
  const spans = Object.entries(json).filter(([k]) => k !== "__metadata__").map(([, v]) => v.data_offsets).sort((a, b) => a[0] - b[0]);
  spans.forEach(([begin], i) => assert.equal(begin, i === 0 ? 0 : spans[i - 1][1]));
  assert.equal(dataStart + spans[spans.length - 1][1], readFileSync(path).length);
  for (const v of Object.values(json)) if ("dtype" in v && v.dtype === "F32") assert.equal(v.data_offsets[0] % 4, 0);
});

test("every tensor is a view into one buffer, which allocate provides", () => {
  const path = join(dir, "alloc.safetensors");
  writeSafetensors(path, sampleTensors(2));
  const memory = new Uint8Array(4096);
  const sizes: number[] = [];
  const source = openSafetensors(path, { allocate: (n) => { sizes.push(n); return memory.subarray(16, 16 + n); } });
  assert.equal(sizes.length, 1);
  for (const name of source.names()) assert.equal(source.get(name).bytes.buffer, memory.buffer);
});

test("sharded folders: split by size, index json, same tensors back; single-file folders too", () => {
  const sharded = join(dir, "sharded");
  const tensors = sampleTensors(3);
  const shards = writeSafetensorsSharded(sharded, tensors, { maxShardBytes: 80 });
  assert.ok(shards.length >= 3, `only ${shards.length} shards`);
  assert.deepEqual(readdirSync(sharded).sort(), [...shards, "model.safetensors.index.json"].sort());
  const index = JSON.parse(readFileSync(join(sharded, "model.safetensors.index.json"), "utf8"));
  assert.equal(index.metadata.total_size, tensors.reduce((sum, t) => sum + expectedBytes(t).length, 0));
  for (const source of [openSafetensorsFolder(sharded), openWeights(sharded)]) {
    assert.deepEqual(source.names().sort(), tensors.map((t) => t.name).sort());
    for (const t of tensors) assert.deepEqual(source.get(t.name).bytes, expectedBytes(t), t.name);
  }

  const single = join(dir, "single-folder");
  mkdirSync(single);
  writeSafetensors(join(single, "model.safetensors"), tensors);
  const source = openSafetensorsFolder(single);
  for (const t of tensors) assert.deepEqual(source.get(t.name).bytes, expectedBytes(t));
  const layer = withPrefix(source, "model.layers.0.");
  assert.deepEqual(layer.names(), ["self_attn.q_proj.weight"]);
  assert.equal(layer.get("self_attn.q_proj.weight").name, "model.layers.0.self_attn.q_proj.weight");
});

/** A file with a hand-written header, for formats our writer never produces. */
function handWritten(name: string, header: unknown, dataBytes: number, lengthOverride?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
  return path;
}

test("bad input: truncation, lengths and offsets past the end, bad JSON", () => {
  const good = join(dir, "good.safetensors");
  writeSafetensors(good, sampleTensors(4));
  const bytes = readFileSync(good);
  const truncated = join(dir, "truncated.safetensors");
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
  assertLoomError(() => openSafetensors(truncated), truncated, "past the end");
  const tiny = join(dir, "tiny.safetensors");
  writeFileSync(tiny, bytes.subarray(0, 5));
  assertLoomError(() => openSafetensors(tiny), tiny, "truncated");

  const longHeader = handWritten("long.safetensors", {}, 0, 1n << 40n);
  assertLoomError(() => openSafetensors(longHeader), longHeader, "header length 1099511627776", "past the end");
  const hugeHeader = handWritten("huge.safetensors", {}, 0, 0xffffffffffffffffn);
  assertLoomError(() => openSafetensors(hugeHeader), hugeHeader, "past the end");

  const offsets = handWritten("offsets.safetensors", { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, 4);
  assertLoomError(() => openSafetensors(offsets), offsets, `"w"`, "[0, 8]", "past the end of the data section (4 bytes)");

  const notJson = join(dir, "notjson.safetensors");
  writeFileSync(notJson, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{abc")]));
  assertLoomError(() => openSafetensors(notJson), notJson, "not valid JSON");
  assertLoomError(() => openSafetensors(join(dir, "nope.safetensors")), "nope.safetensors", "cannot open");
});

test("bad input: unsupported dtype, size that disagrees with the shape, malformed entries", () => {
  const i64 = handWritten("i64.safetensors", { ids: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, 16);
  assertLoomError(() => openSafetensors(i64), i64, `"ids"`, "unsupported dtype I64", "F32, F16, BF16");
  const size = handWritten("size.safetensors", { w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, 16);
  assertLoomError(() => openSafetensors(size), size, `"w"`, "[2, 2]", "16 bytes", "span 12");
  const shape = handWritten("shape.safetensors", { w: { dtype: "F16", shape: [-1], data_offsets: [0, 2] } }, 2);
  assertLoomError(() => openSafetensors(shape), shape, `"w"`, "bad shape");
  const backwards = handWritten("backwards.safetensors", { w: { dtype: "F16", shape: [1], data_offsets: [2, 0] } }, 2);
  assertLoomError(() => openSafetensors(backwards), backwards, `"w"`, "bad data_offsets");
});

test("bad input: missing tensors list similar names; index pointing at a missing shard", () => {
  const path = join(dir, "names.safetensors");
  writeSafetensors(path, sampleTensors(5));
  const source = openSafetensors(path);
  assertLoomError(
    () => source.get("model.layers.0.self_attn.k_proj.weight"), path,
    `"model.layers.0.self_attn.k_proj.weight"`, "similar names", `"model.layers.0.self_attn.q_proj.weight"`,
  );

  const folder = join(dir, "broken");
  writeSafetensorsSharded(folder, sampleTensors(6), { maxShardBytes: 80 });
  const missing = readdirSync(folder).find((f) => f.startsWith("model-00002"))!;
  rmSync(join(folder, missing));
  assertLoomError(() => openSafetensorsFolder(folder), "model.safetensors.index.json", missing, "missing");

  const index = join(folder, "model.safetensors.index.json");
  const json = JSON.parse(readFileSync(index, "utf8"));
  writeSafetensorsSharded(folder, sampleTensors(6), { maxShardBytes: 80 });
  json.weight_map["ghost.weight"] = readdirSync(folder).find((f) => f.startsWith("model-00001"));
  writeFileSync(index, JSON.stringify(json));
  assertLoomError(() => openSafetensorsFolder(folder), `"ghost.weight"`, "no such tensor");

  const empty = join(dir, "empty-folder");
  mkdirSync(empty);
  assertLoomError(() => openSafetensorsFolder(empty), empty, "model.safetensors");
});

test("writers refuse what safetensors cannot hold", () => {
  const path = join(dir, "refuse.safetensors");
  assertLoomError(() => writeSafetensors(path, [{ name: "q", dtype: "q8_0", shape: [32], data: new Float32Array(32) }]), `"q"`, "q8_0");
  assertLoomError(() => writeSafetensors(path, [{ name: "w", dtype: "f32", shape: [3], data: new Float32Array(2) }]), `"w"`, "3 values");
  const dup: TensorToWrite = { name: "d", dtype: "f32", shape: [1], data: new Float32Array(1) };
  assertLoomError(() => writeSafetensors(path, [dup, dup]), `"d"`);
});
