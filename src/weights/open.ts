import { closeSync, openSync, readSync, statSync } from "node:fs";
import { LoomError } from "../errors.js";
import type { ReadOptions } from "./file.js";
import { openGGUF } from "./gguf.js";
import { openSafetensors, openSafetensorsFolder } from "./safetensors.js";
import type { WeightSource } from "./source.js";

/** Opens a Hugging Face folder, a .safetensors file or a .gguf file (recognized by its magic). */
export function openWeights(path: string, options: ReadOptions = {}): WeightSource {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new LoomError(`${path}: no such file or folder`);
  }
  if (isDirectory) return openSafetensorsFolder(path, options);
  return startsWithGGUFMagic(path) ? openGGUF(path, options) : openSafetensors(path, options);
}

function startsWithGGUFMagic(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const magic = new Uint8Array(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && String.fromCharCode(...magic) === "GGUF";
  } finally {
    closeSync(fd);
  }
}

/** A view of `source` where every name is looked up under `prefix` (e.g. "model.layers.3."). */
export function withPrefix(source: WeightSource, prefix: string): WeightSource {
  return {
    origin: source.origin,
    metadata: source.metadata,
    names: () => source.names().filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length)),
    has: (name) => source.has(prefix + name),
    get: (name) => source.get(prefix + name),
  };
}
