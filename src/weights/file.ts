// Synchronous file reading shared by the checkpoint readers: every failure becomes a LoomError that
// names the file, and a whole data section lands in one caller-allocated buffer.
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { LoomError } from "../errors.js";

/**
 * Allocates the buffer a data section is read into. The default is `new Uint8Array(n)`; a
 * WebAssembly backend can hand out a view of its own memory so weights land there directly.
 */
export type Allocate = (byteLength: number) => Uint8Array;

/**
 * Reads a data section into `into` some faster way (the WebAssembly runtime reads on all its
 * threads at once) and returns true, or declines (false) and leaves it to readExactly.
 */
export type Fill = (file: OpenFile, position: number, into: Uint8Array) => boolean;

export interface ReadOptions {
  allocate?: Allocate;
  fill?: Fill;
}

export interface OpenFile {
  readonly path: string;
  readonly fd: number;
  readonly size: number;
}

const CHUNK_BYTES = 64 * 1024 * 1024;

export function openForReading(path: string): OpenFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new LoomError(`${path}: cannot open (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new LoomError(`${path}: not a regular file`);
  }
  return { path, fd, size: stats.size };
}

export function closeFile(file: OpenFile): void {
  closeSync(file.fd);
}

/** Runs `use` with the file open and always closes it. */
export function withFile<T>(path: string, use: (file: OpenFile) => T): T {
  const file = openForReading(path);
  try {
    return use(file);
  } finally {
    closeFile(file);
  }
}

/** Fills `into` from file position `position`, in chunks; a short file is a truncation error. */
export function readExactly(file: OpenFile, position: number, into: Uint8Array, what: string): void {
  if (position + into.length > file.size) {
    throw new LoomError(
      `${file.path}: truncated file: ${what} needs bytes ${position}..${position + into.length} but the file has ${file.size}`,
    );
  }
  let done = 0;
  while (done < into.length) {
    const length = Math.min(CHUNK_BYTES, into.length - done);
    const n = readSync(file.fd, into, done, length, position + done);
    if (n === 0) throw new LoomError(`${file.path}: file ended early while reading ${what}`);
    done += n;
  }
}

/**
 * Reads `length` bytes at `position` into one buffer from `options.allocate` (checked, then trimmed
 * to length), through `options.fill` when it takes the job.
 */
export function readSection(file: OpenFile, position: number, length: number, options: ReadOptions, what: string): Uint8Array {
  const { allocate, fill } = options;
  if (position + length > file.size) {
    throw new LoomError(`${file.path}: truncated file: ${what} needs ${position + length} bytes but the file has ${file.size}`);
  }
  const buffer = allocate ? allocate(length) : new Uint8Array(length);
  if (!(buffer instanceof Uint8Array) || buffer.length < length) {
    throw new LoomError(`${file.path}: allocate(${length}) returned a buffer that is too small`);
  }
  const section = buffer.length === length ? buffer : buffer.subarray(0, length);
  let filled: boolean;
  try {
    filled = fill !== undefined && fill(file, position, section);
  } catch (error) {
    throw new LoomError(`${file.path}: reading ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!filled) readExactly(file, position, section, what);
  return section;
}

/** Writes all of `bytes` at the file's current position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
