/**
 * The few protobuf wire-format pieces ONNX needs: varints (wire type 0), length-delimited fields
 * (wire type 2: strings, bytes, packed repeated ints, nested messages) and 32-bit floats (wire
 * type 5). A message is kept as a list of byte parts, so a 500 MB weight is never copied: nesting
 * a message appends its parts after a length prefix, and the file is written part by part.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { LoomError } from "../../errors.js";

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Bytes of `value` as a base-128 varint, least significant group first. Negative int64s take 10 bytes. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** One protobuf message under construction. Fields are written in the order the methods are called. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  get byteLength(): number {
    return this.length;
  }

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1) throw new LoomError(`protobuf: field number ${field} is not a positive integer`);
    this.push(encodeVarint(field * 8 + wireType));
  }

  /** int32, int64, enum and bool fields. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(encodeVarint(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  /** bytes fields; the bytes are referenced, not copied, so they must not change before writing. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(encodeVarint(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A packed repeated int32/int64 field. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const encoded = values.map(encodeVarint);
    const total = encoded.reduce((sum, b) => sum + b.length, 0);
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(encodeVarint(total));
    for (const b of encoded) this.push(b);
    return this;
  }

  /** A nested message: its parts are appended, not copied. */
  message(field: number, inner: ProtoWriter): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(encodeVarint(inner.length));
    for (const part of inner.parts) this.push(part);
    return this;
  }

  /** The whole message in one buffer (small messages and tests). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Writes the message to `path` part by part; the file appears only once complete. */
  writeFile(path: string): void {
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      const fd = openSync(temporary, "w");
      try {
        for (const part of this.parts) {
          let done = 0;
          while (done < part.length) done += writeSync(fd, part, done, part.length - done);
        }
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
}
