/**
 * A conversion plan: what an architecture's HF checkpoint becomes in GGUF — the `{arch}.*`
 * metadata and, for every tensor, its GGUF name, shape and values (computed on demand, so only
 * one rearranged tensor is in memory at a time). Each architecture file builds one from a
 * name table: HF base name → GGUF base name, the shapes the config implies, and how to rearrange.
 */
import { LoomError } from "../errors.js";
import { tensorToFloat32 } from "../nn/create-matrix.js";
import { shapeString } from "../tensor/tensor.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import type { WeightSource } from "../weights/source.js";

export interface PlannedTensor {
  /** GGUF name, e.g. "blk.0.attn_q.weight". */
  name: string;
  /** GGUF shape, outermost first (a matrix is (out, in)). */
  shape: number[];
  /** The f32 values in GGUF layout. */
  values(): Float32Array;
}

export interface ConversionPlan {
  /** `general.architecture` (mistral is written as "llama", as llama.cpp does). */
  architecture: string;
  /** The `{arch}.*` hyperparameter keys. */
  metadata: GGUFMetaEntry[];
  tensors: PlannedTensor[];
  /** Token ids from config.json, used when the tokenizer files name none. */
  bosTokenId?: number;
  eosTokenId?: number;
  /** Things llama.cpp's format cannot express, for the caller to show. */
  warnings: string[];
}

/** How one HF weight (or bias) becomes a GGUF tensor. */
export interface TableEntry {
  gguf: string;
  /** Shape in the HF checkpoint. */
  shape: number[];
  /** Absent tensors are fine (tied heads, optional biases). */
  optional?: boolean;
  /** Shape in GGUF, when rearranging changes it (a transpose). */
  ggufShape?: number[];
  /** Rearranges HF values into GGUF layout. */
  rearrange?: (values: Float32Array) => Float32Array;
}

/** HF name → entry, in the order the GGUF file will list them. */
export type NameTable = Map<string, TableEntry>;

export const u32 = (key: string, value: number): GGUFMetaEntry => ({ key, type: "uint32", value });
export const f32 = (key: string, value: number): GGUFMetaEntry => ({ key, type: "float32", value });
export const str = (key: string, value: string): GGUFMetaEntry => ({ key, type: "string", value });

/**
 * Walks `source` against `table`: every checkpoint tensor must be in the table (or `skip`ped) with
 * the expected shape, and every required table entry must be in the checkpoint.
 */
export function plannedTensors(source: WeightSource, table: NameTable, skip: (hfName: string) => boolean): PlannedTensor[] {
  const unknown = source.names().filter((name) => !table.has(name) && !skip(name));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).map((n) => `"${n}"`).join(", ");
    throw new LoomError(`${source.origin}: cannot map tensor${unknown.length > 1 ? "s" : ""} ${shown}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""} to GGUF names`);
  }
  const planned: PlannedTensor[] = [];
  for (const [hfName, entry] of table) {
    if (!source.has(hfName)) {
      if (entry.optional) continue;
      throw new LoomError(`${source.origin}: missing tensor "${hfName}" (expected shape ${shapeString(entry.shape)})`);
    }
    const raw = source.get(hfName);
    const same = raw.shape.length === entry.shape.length && raw.shape.every((d, i) => d === entry.shape[i]);
    if (!same) {
      throw new LoomError(`${source.origin}: tensor "${hfName}" has shape ${shapeString(raw.shape)}, expected ${shapeString(entry.shape)}`);
    }
    const rearrange = entry.rearrange;
    planned.push({
      name: entry.gguf,
      shape: entry.ggufShape ?? entry.shape,
      values: () => (rearrange ? rearrange(tensorToFloat32(raw)) : tensorToFloat32(raw)),
    });
  }
  return planned;
}
