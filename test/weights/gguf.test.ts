import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { DTYPES, dequantize, float32View, quantize } from "../../src/tensor/dtypes.js";
import { GGML_TYPE_IDS, type GGUFMetaEntry } from "../../src/weights/gguf-format.js";
import { openGGUF, readGGUFHeader, type GGUFFile } from "../../src/weights/gguf.js";
import { openWeights } from "../../src/weights/open.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import type { TensorToWrite } from "../../src/weights/encode.js";
import type { MetaValue } from "../../src/weights/source.js";
import { gaussian, seededRandom, tempDir } from "./helpers.js";

const { dir, cleanup } = tempDir();
after(cleanup);

/** One entry of every GGUF value type, with edge values, plus arrays (nested ones too). */
const EVERY_TYPE: GGUFMetaEntry[] = [
  { key: "general.architecture", type: "string", value: "llama" },
  { key: "test.u8", type: "uint8", value: 255 },
  { key: "test.i8", type: "int8", value: -128 },
  { key: "test.u16", type: "uint16", value: 65535 },
  { key: "test.i16", type: "int16", value: -32768 },
  { key: "test.u32", type: "uint32", value: 4294967295 },
  { key: "test.i32", type: "int32", value: -2147483648 },
  { key: "test.f32", type: "float32", value: Math.fround(-3.1415927) },
  { key: "test.true", type: "bool", value: true },
  { key: "test.false", type: "bool", value: false },
  { key: "test.string", type: "string", value: "héllo ✓ 世界 \n\u0000 end" },
  { key: "test.empty", type: "string", value: "" },
  { key: "test.u64", type: "uint64", value: 18446744073709551615n },
  { key: "test.u64small", type: "uint64", value: 42 },
  { key: "test.i64", type: "int64", value: -9223372036854775808n },
  { key: "test.i64small", type: "int64", value: -5 },
  { key: "test.f64", type: "float64", value: Math.PI },
  { key: "test.arr_u8", type: { array: "uint8" }, value: [0, 1, 255] },
  { key: "test.arr_i16", type: { array: "int16" }, value: [-1, 300] },
  { key: "test.arr_f32", type: { array: "float32" }, value: [0.5, -2, Math.fround(1e-7)] },
  { key: "test.arr_bool", type: { array: "bool" }, value: [true, false, true] },
  { key: "test.arr_string", type: { array: "string" }, value: ["a", "", "ü", "<0x0A>"] },
  { key: "test.arr_u64", type: { array: "uint64" }, value: [0, 18446744073709551615n] },
  { key: "test.arr_i64", type: { array: "int64" }, value: [-1, 9007199254740993n] },
  { key: "test.arr_f64", type: { array: "float64" }, value: [1e300, -0.1] },
  { key: "test.arr_empty", type: { array: "int32" }, value: [] },
  { key: "test.nested", type: { array: { array: "int16" } }, value: [[1, -2], [3], []] },
  { key: "test.nested3", type: { array: { array: { array: "string" } } }, value: [[["x"]], [["y", "z"], []]] },
];

function tensorsOfEveryDType(random: () => number): TensorToWrite[] {
  const tensors: TensorToWrite[] = DTYPES.map((dtype) => ({
    name: `blk.0.${dtype}.weight`, dtype, shape: [3, 512], data: gaussian(random, 3 * 512, 0.1),
  }));
  tensors.push({ name: "cube", dtype: "f32", shape: [2, 3, 4], data: gaussian(random, 24) });
  tensors.push({ name: "norm", dtype: "f32", shape: [7], data: gaussian(random, 7) });
  tensors.push({ name: "empty", dtype: "f16", shape: [0, 4], data: new Float32Array(0) });
  return tensors;
}

function expectedBytes(t: TensorToWrite): Uint8Array {
  if (t.data instanceof Uint8Array) return t.data;
  return t.data.length === 0 ? new Uint8Array(0) : quantize(t.data, t.dtype, t.shape[t.shape.length - 1]);
}

/** Peer metadata nests dotted keys; ours are flat. */
function peerValue(metadata: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], metadata);
}

/** The same value with every integer-valued number as a bigint, so 64-bit fields compare across readers. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === "number" && Number.isInteger(value) && !Object.is(value, -0)) return BigInt(value);
  return value;
}

for (const version of [3, 2] as const) {
  test(`GGUF v${version}: every metadata type and tensor dtype round-trip, and node-llama-cpp's parser agrees`, async () => {
    const path = join(dir, `every-v${version}.gguf`);
    const tensors = tensorsOfEveryDType(seededRandom(version));
    const written = writeGGUF(path, { metadata: EVERY_TYPE, tensors }, { version });
    assert.deepEqual(written.map((w) => w.dtype), tensors.map((t) => t.dtype));

    const file = openGGUF(path);
    assert.equal(file.version, version);
    assert.equal(file.alignment, 32);
    assert.deepEqual(file.entries, EVERY_TYPE);
    for (const e of EVERY_TYPE) assert.deepEqual(file.metadata.get(e.key), e.value);
    assert.deepEqual(file.names(), tensors.map((t) => t.name));
    const buffer = file.get(tensors[0].name).bytes.buffer;
    for (const t of tensors) {
      const raw = file.get(t.name);
      assert.equal(raw.dtype, t.dtype);
      assert.deepEqual(raw.shape, t.shape);
      assert.deepEqual(raw.bytes, expectedBytes(t), t.name);
      assert.equal(raw.bytes.buffer, buffer, "every tensor is a view into one buffer");
    }
    // f32 data is aligned in the buffer, so it can be used in place.
    assert.deepEqual(float32View(file.get("cube")), tensors.find((t) => t.name === "cube")!.data);

    const peer = await readGgufFileInfo(path, { logWarnings: false });
    assert.equal(peer.version, version);
    for (const e of EVERY_TYPE) assert.deepEqual(normalize(peerValue(peer.metadata, e.key)), normalize(e.value), e.key);
    assert.equal(peer.tensorInfo?.length, tensors.length);
    peer.tensorInfo!.forEach((info, i) => {
      const ours = file.tensorInfos[i];
      assert.equal(info.name, ours.name);
      assert.deepEqual(info.dimensions.map(Number), [...ours.shape].reverse());
      assert.equal(info.ggmlType, GGML_TYPE_IDS[ours.dtype]);
      assert.equal(Number(info.fileOffset), file.dataOffset + ours.offset);
    });
  });
}

test("re-writing what the reader returns gives a byte-identical file", () => {
  const first = join(dir, "first.gguf"), second = join(dir, "second.gguf");
  writeGGUF(first, { metadata: EVERY_TYPE, tensors: tensorsOfEveryDType(seededRandom(7)) });
  const file = openGGUF(first);
  const tensors = file.tensorInfos.map((info) => ({ ...info, data: file.get(info.name).bytes }));
  writeGGUF(second, { metadata: file.entries, tensors });
  assert.deepEqual(readFileSync(second), readFileSync(first));
});

test("general.alignment places the data section and every tensor on its boundary", async () => {
  const path = join(dir, "aligned.gguf");
  const random = seededRandom(8);
  const metadata: GGUFMetaEntry[] = [{ key: "general.alignment", type: "uint32", value: 256 }];
  const tensors: TensorToWrite[] = [
    { name: "odd", dtype: "f16", shape: [3], data: gaussian(random, 3) },
    { name: "q", dtype: "q8_0", shape: [1, 32], data: gaussian(random, 32) },
  ];
  writeGGUF(path, { metadata, tensors });
  const file = openGGUF(path);
  assert.equal(file.alignment, 256);
  assert.equal(file.dataOffset % 256, 0);
  assert.deepEqual(file.tensorInfos.map((t) => t.offset), [0, 256]);
  assert.deepEqual(file.get("q").bytes, expectedBytes(tensors[1]));
  const peer = await readGgufFileInfo(path, { logWarnings: false });
  assert.equal(Number(peer.tensorInfo![1].fileOffset), file.dataOffset + 256);
});

test("a quantized tensor whose rows are not whole blocks is stored as f16", () => {
  const path = join(dir, "fallback.gguf");
  const data = gaussian(seededRandom(9), 2 * 48);
  const written = writeGGUF(path, { metadata: [], tensors: [{ name: "w", dtype: "q8_0", shape: [2, 48], data }] });
  assert.equal(written[0].dtype, "f16");
  const raw = openGGUF(path).get("w");
  assert.equal(raw.dtype, "f16");
  assert.deepEqual(dequantize(raw), dequantize({ ...raw, bytes: quantize(data, "f16", 48) }));
});

test("allocate receives the data section and every tensor lands in that memory", () => {
  const path = join(dir, "allocate.gguf");
  const tensors = tensorsOfEveryDType(seededRandom(10));
  writeGGUF(path, { metadata: [], tensors });
  const memory = new Uint8Array(1 << 20);
  const requests: number[] = [];
  const file = openGGUF(path, {
    allocate: (n) => {
      requests.push(n);
      return memory.subarray(64, 64 + n); // e.g. a region inside WebAssembly memory
    },
  });
  assert.equal(requests.length, 1);
  for (const t of tensors) {
    const raw = file.get(t.name);
    assert.equal(raw.bytes.buffer, memory.buffer);
    assert.deepEqual(raw.bytes, expectedBytes(t));
  }
});

test("a 150k-token vocabulary header parses quickly", () => {
  const path = join(dir, "vocab.gguf");
  const count = 150_000;
  const tokens = Array.from({ length: count }, (_, i) => `▁tok${i.toString(36)}`);
  const metadata: GGUFMetaEntry[] = [
    { key: "tokenizer.ggml.tokens", type: { array: "string" }, value: tokens },
    { key: "tokenizer.ggml.scores", type: { array: "float32" }, value: tokens.map((_, i) => -i) },
    { key: "tokenizer.ggml.token_type", type: { array: "int32" }, value: tokens.map(() => 1) },
    { key: "tokenizer.ggml.merges", type: { array: "string" }, value: tokens.map((t) => `${t} x`) },
  ];
  writeGGUF(path, { metadata, tensors: [] });
  const started = performance.now();
  const header = readGGUFHeader(path);
  const elapsed = performance.now() - started;
  const read = header.metadata.get("tokenizer.ggml.tokens") as MetaValue[];
  assert.equal(read.length, count);
  assert.equal(read[count - 1], tokens[count - 1]);
  assert.ok(elapsed < 1500, `parsing took ${elapsed.toFixed(0)} ms`);
});

test("a file without tensors may end right after its metadata; openWeights recognizes GGUF by magic", () => {
  const path = join(dir, "no-tensors.gguf");
  writeGGUF(path, { metadata: [{ key: "general.name", type: "string", value: "the end" }], tensors: [] });
  const bytes = readFileSync(path);
  const unpadded = join(dir, "no-tensors-unpadded.bin");
  writeFileSync(unpadded, bytes.subarray(0, bytes.indexOf("the end") + "the end".length));
  const source = openWeights(unpadded);
  assert.equal(source.metadata.get("general.name"), "the end");
  assert.deepEqual(source.names(), []);
  assert.equal((source as GGUFFile).version, 3);
});
