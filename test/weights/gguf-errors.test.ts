// Corrupt GGUF files: each must fail with one LoomError naming the file (and the tensor where there
// is one), before any large allocation, never a RangeError or a hang.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openGGUF } from "../../src/weights/gguf.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import type { GGUFMetaEntry } from "../../src/weights/gguf-format.js";
import type { TensorToWrite } from "../../src/weights/encode.js";
import { assertLoomError, gaussian, seededRandom, tempDir } from "./helpers.js";

const { dir, cleanup } = tempDir();
after(cleanup);

const METADATA: GGUFMetaEntry[] = [
  { key: "general.architecture", type: "string", value: "llama" },
  { key: "general.alignment", type: "uint32", value: 32 },
  { key: "test.list", type: { array: "uint32" }, value: [1, 2, 3] },
  { key: "test.lisx", type: "uint8", value: 0 },
];
const random = seededRandom(1);
const TENSORS: TensorToWrite[] = [
  { name: "blk.0.attn_q.weight", dtype: "f32", shape: [4, 8], data: gaussian(random, 32) },
  { name: "blk.0.attn_k.weight", dtype: "q8_0", shape: [2, 64], data: gaussian(random, 128) },
];
const basePath = join(dir, "base.gguf");
writeGGUF(basePath, { metadata: METADATA, tensors: TENSORS });
const base = readFileSync(basePath);

/** Byte position just after the first occurrence of `text` (a key or tensor name) in the base file. */
function after_(text: string): number {
  const at = base.indexOf(Buffer.from(text, "utf8"));
  assert.ok(at >= 0, text);
  return at + Buffer.byteLength(text);
}

/** Writes a copy of the base file changed by `edit` and returns its path. */
function corrupt(name: string, edit: (bytes: Buffer) => Buffer | void): string {
  const bytes = Buffer.from(base);
  const result = edit(bytes) ?? bytes;
  const path = join(dir, `${name}.gguf`);
  writeFileSync(path, result);
  return path;
}

// Tensor info of blk.0.attn_k.weight: name, n_dims (u32), ne[2] (u64), type (u32), offset (u64).
const kInfo = after_("blk.0.attn_k.weight");
const K_NDIMS = kInfo, K_NE0 = kInfo + 4, K_TYPE = kInfo + 20, K_OFFSET = kInfo + 24;
const qInfo = after_("blk.0.attn_q.weight");
const Q_TYPE = qInfo + 20;

test("the base file is valid", () => {
  assert.deepEqual(openGGUF(basePath).names(), TENSORS.map((t) => t.name));
});

test("bad magic", () => {
  const path = corrupt("magic", (b) => { b.write("GGML", 0); });
  assertLoomError(() => openGGUF(path), path, "not a GGUF file", "bad magic");
  const text = corrupt("text", () => Buffer.from("{\"hello\": 1}"));
  assertLoomError(() => openGGUF(text), text, "bad magic");
});

test("unsupported versions, including a big-endian file", () => {
  const v1 = corrupt("v1", (b) => { b.writeUInt32LE(1, 4); });
  assertLoomError(() => openGGUF(v1), v1, "unsupported GGUF version 1");
  const bigEndian = corrupt("be", (b) => { b.writeUInt32BE(3, 4); });
  assertLoomError(() => openGGUF(bigEndian), bigEndian, "big-endian");
});

test("a file truncated anywhere: in the header, in the tensor infos, in the data", () => {
  for (const length of [0, 3, 10, 30, after_("general.architecture") + 2, K_TYPE]) {
    const path = corrupt(`cut-${length}`, (b) => b.subarray(0, length));
    assertLoomError(() => openGGUF(path), path, "truncated");
  }
  const dataCut = corrupt("cut-data", (b) => b.subarray(0, b.length - 40));
  assertLoomError(() => openGGUF(dataCut), dataCut, `"blk.0.attn_k.weight"`, "q8_0 [2, 64]", "past the end of the file");
});

test("a tensor offset pointing past the end of the file", () => {
  const path = corrupt("offset", (b) => { b.writeBigUInt64LE(1n << 40n, K_OFFSET); });
  assertLoomError(() => openGGUF(path), path, `"blk.0.attn_k.weight"`, "past the end");
  const misaligned = corrupt("misaligned", (b) => { b.writeBigUInt64LE(130n, K_OFFSET); });
  assertLoomError(() => openGGUF(misaligned), misaligned, `"blk.0.attn_k.weight"`, "not a multiple of the alignment 32");
});

test("unsupported tensor types name the tensor and the type", () => {
  const q2k = corrupt("q2k", (b) => { b.writeUInt32LE(10, Q_TYPE); });
  assertLoomError(() => openGGUF(q2k), q2k, `"blk.0.attn_q.weight"`, "ggml type 10 (Q2_K)", "q8_0");
  const unknown = corrupt("type99", (b) => { b.writeUInt32LE(99, Q_TYPE); });
  assertLoomError(() => openGGUF(unknown), unknown, `"blk.0.attn_q.weight"`, "ggml type 99");
});

test("a tensor whose shape does not fit its type: rows that are not whole blocks, too many dims", () => {
  const rows = corrupt("rows", (b) => { b.writeBigUInt64LE(48n, K_NE0); });
  assertLoomError(() => openGGUF(rows), rows, `"blk.0.attn_k.weight"`, "[2, 48]", "not whole blocks of 32");
  const dims = corrupt("dims", (b) => { b.writeUInt32LE(5, K_NDIMS); });
  assertLoomError(() => openGGUF(dims), dims, `"blk.0.attn_k.weight"`, "5 dimensions");
  const huge = corrupt("huge-ne", (b) => { b.writeBigUInt64LE(1n << 50n, K_NE0 + 8); });
  assertLoomError(() => openGGUF(huge), huge, `"blk.0.attn_k.weight"`, "past the end");
});

test("corrupt counts and lengths fail before allocating", () => {
  const cases: [string, (b: Buffer) => void, string][] = [
    ["kv-count", (b) => { b.writeBigUInt64LE(1n << 40n, 16); }, "remaining bytes"],
    ["tensor-count", (b) => { b.writeBigUInt64LE(1n << 62n, 8); }, "far beyond the file size"],
    ["key-length", (b) => { b.writeBigUInt64LE(1n << 45n, 24); }, "truncated"],
    ["array-count", (b) => { b.writeBigUInt64LE(1n << 36n, after_("test.list") + 8); }, `"test.list" claims`],
    ["array-type", (b) => { b.writeUInt32LE(77, after_("test.list") + 4); }, "unknown value type 77"],
    ["value-type", (b) => { b.writeUInt32LE(13, after_("general.architecture")); }, "unknown value type 13"],
  ];
  for (const [name, edit, fragment] of cases) {
    const path = corrupt(name, edit);
    const started = performance.now();
    assertLoomError(() => openGGUF(path), path, fragment);
    assert.ok(performance.now() - started < 1000, `${name} took too long`);
  }
});

test("bad general.alignment and duplicate keys", () => {
  const alignment = corrupt("alignment", (b) => { b.writeUInt32LE(48, after_("general.alignment") + 4); });
  assertLoomError(() => openGGUF(alignment), alignment, "general.alignment", "power of two", "48");
  const duplicate = corrupt("duplicate", (b) => { b.write("test.list", after_("test.lisx") - "test.lisx".length); });
  assertLoomError(() => openGGUF(duplicate), duplicate, `duplicate metadata key "test.list"`);
});

test("arrays nested too deeply are refused", () => {
  let type: GGUFMetaEntry["type"] = "uint8";
  let value: GGUFMetaEntry["value"] = 1;
  for (let i = 0; i < 12; i++) { type = { array: type }; value = [value]; }
  const path = join(dir, "deep.gguf");
  writeGGUF(path, { metadata: [{ key: "test.deep", type, value }], tensors: [] });
  assertLoomError(() => openGGUF(path), path, `"test.deep"`, "nests arrays deeper");
});

test("a missing tensor lists similar names", () => {
  const file = openGGUF(basePath);
  assertLoomError(() => file.get("blk.0.attn_v.weight"), basePath, `"blk.0.attn_v.weight"`, "similar names", `"blk.0.attn_q.weight"`);
});

test("the writer refuses values that do not fit their declared types", () => {
  const path = join(dir, "bad-write.gguf");
  const cases: [GGUFMetaEntry, string][] = [
    [{ key: "k", type: "uint8", value: 256 }, "uint8"],
    [{ key: "k", type: "uint32", value: -1 }, "uint32"],
    [{ key: "k", type: "int32", value: 1.5 }, "int32"],
    [{ key: "k", type: "string", value: 3 }, "string"],
    [{ key: "k", type: { array: "uint32" }, value: [1, "x"] }, "uint32"],
    [{ key: "general.alignment", type: "int32", value: 32 }, "general.alignment"],
  ];
  for (const [entry, fragment] of cases) assertLoomError(() => writeGGUF(path, { metadata: [entry], tensors: [] }), fragment);
  assertLoomError(
    () => writeGGUF(path, { metadata: [], tensors: [{ name: "w", dtype: "q8_0", shape: [2, 32], data: new Uint8Array(10) }] }),
    `"w"`, "68 bytes", "10",
  );
  assertLoomError(
    () => writeGGUF(path, { metadata: [], tensors: [{ name: "w", dtype: "f32", shape: [2, 3], data: new Float32Array(5) }] }),
    `"w"`, "[2, 3]", "6 values", "5",
  );
});
