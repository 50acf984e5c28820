import { closeSync, existsSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { LoomError } from "../errors.js";
import type { TrainModelConfig } from "./config.js";
import type { RngState } from "./rng.js";

/** One point of the loss history. */
export interface HistoryPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  valLoss?: number;
}

/** Everything besides the numbers that a resumed run needs to continue exactly. */
export interface CheckpointMeta {
  format: "loom-train-checkpoint-1";
  /** Optimizer steps completed. */
  step: number;
  config: TrainModelConfig;
  /** The training options the run was started with (JSON-safe). */
  options: Record<string, unknown>;
  rng: RngState;
  tokensSeen: number;
  elapsedSeconds: number;
  history: HistoryPoint[];
}

export interface Checkpoint {
  meta: CheckpointMeta;
  params: Float32Array;
  adamM: Float32Array;
  adamV: Float32Array;
}

/**
 * One file: u64 header length, a JSON header, padding to 4 bytes, then params, Adam m and
 * Adam v as f32. It is written under a temporary name and renamed, so an interruption at any
 * moment leaves either the old checkpoint or the new one, never half of each.
 */
export function saveCheckpoint(path: string, c: Checkpoint): void {
  const n = c.params.length;
  if (c.adamM.length !== n || c.adamV.length !== n) throw new LoomError(`checkpoint ${path}: params, m and v differ in length`);
  let json = JSON.stringify({ ...c.meta, numParams: n });
  json += " ".repeat((4 - ((8 + Buffer.byteLength(json)) % 4)) % 4);
  const header = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, prefix);
    writeSync(fd, header);
    for (const a of [c.params, c.adamM, c.adamV]) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function loadCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new LoomError(`no checkpoint at ${path}`);
  const bytes = readFileSync(path);
  if (bytes.length < 8) throw new LoomError(`checkpoint ${path} is truncated`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLength > bytes.length) throw new LoomError(`checkpoint ${path}: header length ${headerLength} runs past the end of the file`);
  let meta: CheckpointMeta & { numParams: number };
  try {
    meta = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  } catch {
    throw new LoomError(`checkpoint ${path}: the header is not JSON`);
  }
  if (meta.format !== "loom-train-checkpoint-1") throw new LoomError(`checkpoint ${path}: unknown format ${String(meta.format)}`);
  const n = meta.numParams;
  const dataStart = 8 + headerLength;
  if (bytes.length !== dataStart + 3 * 4 * n) {
    throw new LoomError(`checkpoint ${path}: expected ${3 * 4 * n} bytes of parameters and optimizer state, found ${bytes.length - dataStart}`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length));
  return { meta, params: all.subarray(0, n), adamM: all.subarray(n, 2 * n), adamV: all.subarray(2 * n, 3 * n) };
}
