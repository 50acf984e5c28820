import type { RawTensor } from "../tensor/tensor.js";

/** A GGUF metadata value (or a JSON config value): scalars, strings, and (nested) arrays. */
export type MetaValue = number | bigint | boolean | string | MetaValue[];

/**
 * Where a model gets its tensors from: a safetensors file, a sharded folder or a GGUF file.
 * Models never know which; they ask for tensors by name.
 */
export interface WeightSource {
  /** A short description for error messages, e.g. the file path. */
  readonly origin: string;
  /** The container's own metadata: GGUF key/values, or safetensors `__metadata__` strings. */
  readonly metadata: ReadonlyMap<string, MetaValue>;
  names(): string[];
  has(name: string): boolean;
  /** Throws a LoomError naming the tensor and the origin when missing. */
  get(name: string): RawTensor;
  /** Releases file handles; tensors already handed out stay valid. */
  close?(): void;
}
