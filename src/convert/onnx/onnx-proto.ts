/**
 * ONNX's messages (onnx/onnx.proto) as plain TypeScript values, and their protobuf encoding.
 * Only the fields an inference graph needs; field numbers are onnx.proto's.
 */
import { LoomError } from "../../errors.js";
import { ProtoWriter } from "./protobuf.js";

/** TensorProto.DataType values. */
export const ONNX_DTYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;

/** A dimension: a fixed size or a symbolic name (dim_param). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDType;
  shape: readonly OnnxDim[];
}

export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  raw: Uint8Array;
}

export type OnnxAttributeValue =
  | { kind: "float"; value: number }
  | { kind: "int"; value: number | bigint }
  | { kind: "ints"; value: readonly (number | bigint)[] }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: OnnxTensor };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: Readonly<Record<string, OnnxAttributeValue>>;
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  opsets: readonly { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  metadata?: Readonly<Record<string, string>>;
}

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, ints: 7 } as const;

export function encodeTensor(t: OnnxTensor): ProtoWriter {
  // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9.
  const w = new ProtoWriter();
  if (t.dims.length > 0) w.packedVarints(1, t.dims);
  w.varint(2, ONNX_DTYPE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  return w;
}

function encodeValueInfo(v: OnnxValueInfo): ProtoWriter {
  // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2. TensorShapeProto: dim = 1.
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  // TypeProto.Tensor: elem_type = 1, shape = 2. TypeProto: tensor_type = 1.
  const tensorType = new ProtoWriter().varint(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  // ValueInfoProto: name = 1, type = 2.
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function encodeAttribute(name: string, a: OnnxAttributeValue): ProtoWriter {
  // AttributeProto: name = 1, f = 2, i = 3, s = 4, t = 5, ints = 8, type = 20.
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case "float": w.float(2, a.value); break;
    case "int": w.varint(3, a.value); break;
    case "string": w.string(4, a.value); break;
    case "tensor": w.message(5, encodeTensor(a.value)); break;
    case "ints": w.packedVarints(8, a.value); break;
  }
  return w.varint(20, ATTRIBUTE_TYPE[a.kind]);
}

function encodeNode(n: OnnxNode): ProtoWriter {
  // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [key, value] of Object.entries(n.attributes ?? {})) w.message(5, encodeAttribute(key, value));
  if (n.domain !== undefined && n.domain !== "") w.string(7, n.domain);
  return w;
}

function encodeGraph(g: OnnxGraph): ProtoWriter {
  // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const v of g.inputs) w.message(11, encodeValueInfo(v));
  for (const v of g.outputs) w.message(12, encodeValueInfo(v));
  return w;
}

/** ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8, metadata_props = 14. */
export function encodeModel(m: OnnxModel): ProtoWriter {
  checkGraph(m.graph);
  const w = new ProtoWriter().varint(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  w.message(7, encodeGraph(m.graph));
  for (const opset of m.opsets) {
    // OperatorSetIdProto: domain = 1, version = 2.
    const o = new ProtoWriter();
    if (opset.domain !== "") o.string(1, opset.domain);
    w.message(8, o.varint(2, opset.version));
  }
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    // StringStringEntryProto: key = 1, value = 2.
    w.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return w;
}

const ELEMENT_BYTES: Record<OnnxDType, number> = { float: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1 };

/**
 * Catches a malformed graph here, with names, rather than as an opaque runtime load error: every
 * node input is produced before it is used, names are unique, initializer sizes match their dims.
 */
function checkGraph(g: OnnxGraph): void {
  const known = new Set<string>([""]); // "" marks an omitted optional input
  const define = (name: string, what: string) => {
    if (known.has(name)) throw new LoomError(`ONNX graph "${g.name}": ${what} "${name}" is defined twice`);
    known.add(name);
  };
  for (const t of g.initializers) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (t.raw.length !== count * ELEMENT_BYTES[t.dtype]) {
      throw new LoomError(`ONNX initializer "${t.name}": ${t.dtype} [${t.dims.join(", ")}] needs ${count * ELEMENT_BYTES[t.dtype]} bytes, got ${t.raw.length}`);
    }
    define(t.name, "initializer");
  }
  for (const v of g.inputs) define(v.name, "input");
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (!known.has(i)) throw new LoomError(`ONNX graph "${g.name}": node ${n.name ?? n.opType} reads "${i}" before anything produces it`);
    }
    for (const o of n.outputs) define(o, `output of ${n.name ?? n.opType}`);
  }
  for (const v of g.outputs) {
    if (!known.has(v.name)) throw new LoomError(`ONNX graph "${g.name}": output "${v.name}" is produced by no node`);
  }
}
