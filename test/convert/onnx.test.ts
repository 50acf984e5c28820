/**
 * The GPT-2 → ONNX exporter (src/convert/onnx). The protobuf bytes are read back with a small
 * wire-format reader written here from the protobuf spec; the graph's numerics are checked by
 * running it in onnxruntime-node (the peer the bench installs into bench-models/peers/; these
 * tests skip when it is not there) against Loom's GPT-2 on the same tiny random checkpoint.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { installedTransformersJs, loadOnnxRuntime, prepareOnnxFolder } from "../../bench/transformers-js.js";
import { runTransformersJs } from "../../bench/transformers-js-worker.js";
import { randomPrompt } from "../../src/cli/bench.js";
import { encodeVarint, exportGPT2Onnx, gpt2OnnxModel, ProtoWriter } from "../../src/convert/onnx/index.js";
import { LoomError } from "../../src/errors.js";
import { loadCausalLM } from "../../src/models/index.js";
import type { CausalLM } from "../../src/models/types.js";
import { maxAbsDiff } from "../kernels/random.js";
import { TINY, tinyConfig, tinyWeights, writeTinyHF, type TinySpec } from "./tiny.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SPEC: TinySpec = { ...TINY.gpt2, layers: 2 };
const HEAD_DIM = SPEC.hidden / SPEC.heads;
const TOLERANCE = 1e-4;

// ---------------------------------------------------------------------------------------------
// A protobuf wire-format reader: varints (wire type 0), length-delimited (2), fixed32 (5).

interface Field { field: number; wire: number; varint?: bigint; bytes?: Uint8Array; fixed32?: Uint8Array }

function readVarint(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const b = bytes[at++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, at];
  }
}

function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  for (let at = 0; at < bytes.length;) {
    const [key, next] = readVarint(bytes, at);
    at = next;
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      const [v, after] = readVarint(bytes, at);
      fields.push({ field, wire, varint: v });
      at = after;
    } else if (wire === 2) {
      const [length, after] = readVarint(bytes, at);
      fields.push({ field, wire, bytes: bytes.subarray(after, after + Number(length)) });
      at = after + Number(length);
    } else if (wire === 5) {
      fields.push({ field, wire, fixed32: bytes.subarray(at, at + 4) });
      at += 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return fields;
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const only = (fields: Field[], n: number) => fields.filter((f) => f.field === n);

describe("protobuf writer", () => {
  test("varints read back to the same 64-bit value; 300 is [0xac, 0x02] as the protobuf docs show", () => {
    assert.deepEqual([...encodeVarint(300)], [0xac, 0x02]);
    for (const v of [0n, 1n, 127n, 128n, 16383n, 16384n, 2n ** 31n, 2n ** 53n + 7n, 2n ** 63n - 1n]) {
      assert.equal(readVarint(encodeVarint(v), 0)[0], v);
    }
    // Negative int64s are their two's complement, ten bytes long.
    const minusOne = encodeVarint(-1);
    assert.equal(minusOne.length, 10);
    assert.equal(readVarint(minusOne, 0)[0], 2n ** 64n - 1n);
  });

  test("nested messages, strings, floats and packed ints read back field by field", () => {
    const inner = new ProtoWriter().string(1, "héllo").float(2, 0.25).packedVarints(3, [1, 300, 2 ** 40]);
    const outer = new ProtoWriter().varint(1, 7).message(2, inner).bytes(3, Uint8Array.from([9, 8, 7]));
    const bytes = outer.finish();
    assert.equal(bytes.length, outer.byteLength);
    const top = readFields(bytes);
    assert.deepEqual(top.map((f) => [f.field, f.wire]), [[1, 0], [2, 2], [3, 2]]);
    assert.equal(top[0].varint, 7n);
    assert.deepEqual([...top[2].bytes!], [9, 8, 7]);
    const fields = readFields(top[1].bytes!);
    assert.equal(text(fields[0].bytes), "héllo");
    assert.equal(new DataView(fields[1].fixed32!.buffer, fields[1].fixed32!.byteOffset).getFloat32(0, true), 0.25);
    const packed: bigint[] = [];
    for (let at = 0, b = fields[2].bytes!; at < b.length;) {
      const [v, next] = readVarint(b, at);
      packed.push(v);
      at = next;
    }
    assert.deepEqual(packed, [1n, 300n, 2n ** 40n]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("GPT-2 ONNX export", () => {
  let dir = "";
  let folder = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "loom-onnx-"));
    folder = writeTinyHF(join(dir, "tiny-hf"), SPEC);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the ModelProto holds opset 17, the graph's inputs and outputs, and the weights byte for byte", () => {
    const path = join(dir, "read-back.onnx");
    const result = exportGPT2Onnx(folder, path);
    const model = readFields(new Uint8Array(readFileSync(path)));
    assert.equal(only(model, 1)[0].varint, 8n); // ir_version
    const opset = readFields(only(model, 8)[0].bytes!);
    assert.equal(only(opset, 2)[0].varint, 17n);
    const graph = readFields(only(model, 7)[0].bytes!);
    assert.equal(only(graph, 1).length, result.nodes);
    const valueName = (f: Field) => text(only(readFields(f.bytes!), 1)[0].bytes);
    const inputs = only(graph, 11).map(valueName);
    const outputs = only(graph, 12).map(valueName);
    assert.deepEqual(inputs.slice(0, 3), ["input_ids", "attention_mask", "position_ids"]);
    assert.ok(inputs.includes(`past_key_values.${SPEC.layers - 1}.value`) && inputs.includes("num_logits_to_keep"));
    assert.deepEqual(outputs.slice(0, 2), ["logits", "present.0.key"]);
    // Initializers: name = 8, raw_data = 9; Conv1D weights go in untransposed.
    const initializers = new Map(only(graph, 5).map((f) => {
      const t = readFields(f.bytes!);
      return [text(only(t, 8)[0].bytes), only(t, 9)[0].bytes!] as const;
    }));
    for (const w of tinyWeights(SPEC)) {
      const stored = initializers.get(w.name);
      assert.ok(stored, `initializer ${w.name}`);
      const data = w.data as Float32Array;
      assert.deepEqual(stored, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), w.name);
    }
  });

  test("bad checkpoints throw a LoomError that names the problem", () => {
    const llama = writeTinyHF(join(dir, "llama-hf"), TINY.llama);
    assert.throws(() => gpt2OnnxModel(llama), (e: unknown) => e instanceof LoomError && /model_type .*"llama".*"gpt2"/.test(e.message));
    const wrong = join(dir, "wrong-hf");
    const tensors = tinyWeights(SPEC).map((t) => (t.name === "transformer.h.1.mlp.c_fc.weight" ? { ...t, shape: [SPEC.ff, SPEC.hidden] } : t));
    writeTinyHF(wrong, SPEC, { tensors });
    assert.throws(() => gpt2OnnxModel(wrong), (e: unknown) => e instanceof LoomError && /h\.1\.mlp\.c_fc\.weight.*\[96, 64\].*expected \[64, 96\]/.test(e.message));
    writeFileSync(join(wrong, "config.json"), "{not json");
    assert.throws(() => gpt2OnnxModel(wrong), LoomError);
  });
});

// ---------------------------------------------------------------------------------------------
// Numerics, in onnxruntime-node.

/** The part of onnxruntime-node's API these tests use. */
interface OrtTensor { dims: readonly number[]; data: Float32Array | BigInt64Array }
interface Ort {
  Tensor: new (type: "int64" | "float32", data: BigInt64Array | Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(path: string, options?: Record<string, unknown>): Promise<Session> };
}
interface Session { run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release?(): Promise<void> }

const ort = loadOnnxRuntime(join(ROOT, "bench-models")) as Ort | undefined;
const skip = ort ? false : "onnxruntime-node is not installed (it is no project dependency; `npm run bench -- --only gpt2` installs it into bench-models/peers/)";

const int64 = (values: readonly number[], dims: number[]) => new ort!.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), dims);

/** Feeds for one forward: ids (batch rows), the mask over past+new, positions, and the past (or an empty one). */
function feeds(rows: number[][], mask: number[][], positions: number[][], past: Record<string, OrtTensor> | undefined, keep: number): Record<string, OrtTensor> {
  const batch = rows.length;
  const f: Record<string, OrtTensor> = {
    input_ids: int64(rows.flat(), [batch, rows[0].length]),
    attention_mask: int64(mask.flat(), [batch, mask[0].length]),
    position_ids: int64(positions.flat(), [batch, rows[0].length]),
    num_logits_to_keep: int64([keep], []),
  };
  for (let l = 0; l < SPEC.layers; l++) {
    for (const kind of ["key", "value"]) {
      f[`past_key_values.${l}.${kind}`] = past?.[`present.${l}.${kind}`] ?? new ort!.Tensor("float32", new Float32Array(0), [batch, SPEC.heads, 0, HEAD_DIM]);
    }
  }
  return f;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const vocab = tinyConfig(SPEC).vocab_size as number;
/** Row `r` of a (rows, vocab) logits array. */
const row = (logits: ArrayLike<number>, r: number) => Array.prototype.slice.call(logits, r * vocab, (r + 1) * vocab) as number[];

describe("GPT-2 ONNX in onnxruntime-node matches Loom", { skip }, () => {
  let dir = "";
  let model: CausalLM;
  let session: Session;
  let quantized: Session;
  const prompt = [17, 250, 3, 99, 142, 7];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loom-onnx-ort-"));
    const folder = writeTinyHF(join(dir, "tiny-hf"), SPEC);
    exportGPT2Onnx(folder, join(dir, "model.onnx"));
    exportGPT2Onnx(folder, join(dir, "model_quantized.onnx"), { weights: "int8" });
    const options = { intraOpNumThreads: 1 };
    session = await ort!.InferenceSession.create(join(dir, "model.onnx"), options);
    quantized = await ort!.InferenceSession.create(join(dir, "model_quantized.onnx"), options);
    model = await loadCausalLM(folder, { backend: "js" });
  });
  after(async () => {
    await session?.release?.();
    await quantized?.release?.();
    rmSync(dir, { recursive: true, force: true });
  });

  test("prefill: every position's logits, and num_logits_to_keep = 1 gives the last row", async () => {
    const n = prompt.length;
    const all = await session.run(feeds([prompt], [prompt.map(() => 1)], [range(0, n)], undefined, 0));
    assert.deepEqual(all.logits.dims, [1, n, vocab]);
    assert.deepEqual(all["present.1.value"].dims, [1, SPEC.heads, n, HEAD_DIM]);
    const expected = await model.forward(prompt, 0, model.createCache(), { logits: "all" });
    assert.ok(maxAbsDiff(all.logits.data as Float32Array, expected) <= TOLERANCE, `max |Δ| ${maxAbsDiff(all.logits.data as Float32Array, expected)}`);
    const last = await session.run(feeds([prompt], [prompt.map(() => 1)], [range(0, n)], undefined, 1));
    assert.deepEqual(last.logits.dims, [1, 1, vocab]);
    assert.ok(maxAbsDiff(last.logits.data as Float32Array, row(expected, n - 1)) <= TOLERANCE);
  });

  test("decode: each step with the previous present as past_key_values matches Loom's cached forward", async () => {
    const cache = model.createCache();
    let expected = await model.forward(prompt, 0, cache);
    let out = await session.run(feeds([prompt], [prompt.map(() => 1)], [range(0, prompt.length)], undefined, 1));
    for (let step = 0; step < 4; step++) {
      const position = prompt.length + step;
      const next = (step * 37 + 11) % vocab; // fixed tokens, so every step is checked even if argmax ties
      out = await session.run(feeds([[next]], [range(0, position + 1).map(() => 1)], [[position]], out, 1));
      expected = await model.forward([next], position, cache);
      assert.deepEqual(out["present.0.key"].dims, [1, SPEC.heads, position + 1, HEAD_DIM]);
      const diff = maxAbsDiff(out.logits.data as Float32Array, expected);
      assert.ok(diff <= TOLERANCE, `step ${step}: max |Δ| ${diff}`);
    }
  });

  test("a left-padded batch: attention_mask hides the padding, positions as transformers.js makes them", async () => {
    const short = prompt.slice(2);
    const pad = prompt.length - short.length;
    const rows = [prompt, [...Array(pad).fill(0), ...short]];
    const mask = [prompt.map(() => 1), [...Array(pad).fill(0), ...short.map(() => 1)]];
    // cumsum(mask) - 1, with padded positions set to 1 (transformers.js's create_position_ids).
    const positions = mask.map((m) => { let s = 0; return m.map((v) => (v === 0 ? 1 : (s += v) - 1)); });
    const out = await session.run(feeds(rows, mask, positions, undefined, 1));
    const logits = out.logits.data as Float32Array;
    const full = await model.forward(prompt, 0, model.createCache());
    const cut = await model.forward(short, 0, model.createCache());
    assert.ok(maxAbsDiff(row(logits, 0), full) <= TOLERANCE, `row 0: ${maxAbsDiff(row(logits, 0), full)}`);
    assert.ok(maxAbsDiff(row(logits, 1), cut) <= TOLERANCE, `row 1: ${maxAbsDiff(row(logits, 1), cut)}`);
  });

  test("int8 weights stay close to the f32 logits (within 3% of their range)", async () => {
    const input = feeds([prompt], [prompt.map(() => 1)], [range(0, prompt.length)], undefined, 0);
    const f32 = (await session.run(input)).logits.data as Float32Array;
    const q8 = (await quantized.run(input)).logits.data as Float32Array;
    const spread = f32.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const diff = maxAbsDiff(f32, q8);
    assert.ok(diff > 0, "the int8 graph should not be the f32 graph");
    assert.ok(diff <= 0.03 * spread, `max |Δ| ${diff} vs max |logit| ${spread}`);
  });
});

// ---------------------------------------------------------------------------------------------
// The exported folder, as transformers.js loads and runs it.

const transformersJs = installedTransformersJs(join(ROOT, "bench-models"));

describe("transformers.js runs the exported folder", { skip: transformersJs ? false : "transformers.js is not in bench-models/peers/ (`npm run bench -- --only gpt2` installs it)" }, () => {
  test("from_pretrained + generate() gives Loom's greedy tokens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "loom-onnx-tjs-"));
    try {
      // Seed 23: a tiny random model whose greedy run does not repeat one token throughout.
      const hf = writeTinyHF(join(dir, "tiny-hf"), SPEC, { tensors: tinyWeights(SPEC, 23) });
      const folder = prepareOnnxFolder(hf);
      const promptTokens = 8, newTokens = 11;
      const result = await runTransformersJs(transformersJs!, folder, "fp32", promptTokens, newTokens, 1);
      const model = await loadCausalLM(hf, { backend: "js" });
      const cache = model.createCache();
      let logits = await model.forward(randomPrompt(promptTokens, vocab, 1), 0, cache);
      const expected: number[] = [];
      for (let i = 0; i <= newTokens; i++) {
        const token = logits.reduce((best, v, j) => (v > logits[best] ? j : best), 0);
        expected.push(token);
        if (i < newTokens) logits = await model.forward([token], promptTokens + i, cache);
      }
      assert.deepEqual(result.tokens, expected);
      assert.equal(result.new_tokens, newTokens);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
