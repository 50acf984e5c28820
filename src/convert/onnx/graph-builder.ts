/**
 * Builds an ONNX graph node by node: each op call appends a node and returns the name of its
 * output, so a model reads like the math (`add(matmul(x, w), b)` becomes `g.op("Add", [g.op("MatMul", [x, w]), b])`).
 * Names come from a prefix the caller sets per block, so the graph stays readable in Netron.
 */
import type { OnnxAttributeValue, OnnxDType, OnnxNode, OnnxTensor } from "./onnx-proto.js";

export type Attributes = Record<string, OnnxAttributeValue>;

export const attr = {
  int: (value: number | bigint): OnnxAttributeValue => ({ kind: "int", value }),
  ints: (value: readonly (number | bigint)[]): OnnxAttributeValue => ({ kind: "ints", value }),
  float: (value: number): OnnxAttributeValue => ({ kind: "float", value }),
  string: (value: string): OnnxAttributeValue => ({ kind: "string", value }),
};

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  /** Prefix of generated names, e.g. "/h.3/attn". */
  scope = "";
  private readonly used = new Map<string, number>();

  /** A fresh value or node name under the current scope. */
  private fresh(hint: string): string {
    const base = `${this.scope}/${hint}`;
    const n = this.used.get(base) ?? 0;
    this.used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  /** Appends a node with one output; returns the output's name. */
  op(opType: string, inputs: readonly string[], attributes: Attributes = {}, output?: string): string {
    return this.opN(opType, inputs, 1, attributes, output === undefined ? undefined : [output])[0];
  }

  /** Appends a node with `count` outputs (or the given names); returns their names. */
  opN(opType: string, inputs: readonly string[], count: number, attributes: Attributes = {}, outputs?: readonly string[], domain?: string): string[] {
    const name = this.fresh(opType);
    const outs = outputs ? [...outputs] : Array.from({ length: count }, (_, i) => `${name}_output_${i}`);
    this.nodes.push({ opType, inputs, outputs: outs, name, attributes, domain });
    return outs;
  }

  /** A named initializer from typed-array values (the bytes are referenced, not copied). */
  initializer(name: string, dtype: OnnxDType, dims: readonly number[], values: ArrayBufferView): string {
    this.initializers.push({ name, dtype, dims: [...dims], raw: bytesOf(values) });
    return name;
  }

  /** A small constant (an initializer with a generated name). */
  floats(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(this.fresh("const_f32"), "float", dims, Float32Array.from(values));
  }

  int64s(values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): string {
    return this.initializer(this.fresh("const_i64"), "int64", dims, BigInt64Array.from(values, (v) => BigInt(v)));
  }

  scalarFloat(value: number): string {
    return this.floats([value], []);
  }

  scalarInt64(value: number | bigint): string {
    return this.int64s([value], []);
  }
}
