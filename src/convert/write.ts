/** Writing a converted file so that a failure never leaves a half-written GGUF at the destination. */
import { renameSync, rmSync } from "node:fs";
import { writeGGUF, type GGUFContents, type WrittenTensor } from "../weights/gguf-write.js";

export interface ConvertResult {
  path: string;
  /** `general.architecture` of the written file. */
  architecture: string;
  /** Each tensor with the type it was stored as. */
  tensors: WrittenTensor[];
  /** Things the GGUF format could not express, for the caller to show. */
  warnings: string[];
}

/** Writes next to `path` first, then renames: readers see the old file or the whole new one. */
export function writeGGUFAtomically(path: string, contents: GGUFContents): { path: string; tensors: WrittenTensor[] } {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const tensors = writeGGUF(temporary, contents);
    renameSync(temporary, path);
    return { path, tensors };
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
