// Reading a file into the shared memory on every thread at once: the kernel's page faults and its
// copies out of the page cache then run in parallel (GPT-2-124M's 500 MB F32 GGUF, from the page
// cache: ~290 ms on one thread, ~175 ms on two). A read is a JavaScript job, not a kernel's: its
// record (Job.read on) holds the file descriptor, the file position (two words), where the bytes
// go and how many; chunk c is the bytes [c · READ_CHUNK_BYTES, …) of it. Both the main thread
// (runtime.ts) and the workers (worker.ts) run readChunk.
import { readSync } from "node:fs";
import { LoomError } from "../../errors.js";
import { Job, READ_KIND } from "./layout.js";

export const READ_CHUNK_BYTES = 16 * 1024 * 1024;
const TWO_32 = 2 ** 32;

/** Writes the record of a read job; returns its number of chunks. */
export function writeReadJob(job: Int32Array, fd: number, position: number, at: number, length: number): number {
  const r = Job.read;
  job[Job.kind] = READ_KIND;
  job[r] = fd;
  job[r + 1] = position % TWO_32 | 0;
  job[r + 2] = Math.floor(position / TWO_32);
  job[r + 3] = at | 0;
  job[r + 4] = length | 0;
  return Math.ceil(length / READ_CHUNK_BYTES);
}

export function isReadJob(job: Int32Array): boolean {
  return job[Job.kind] === READ_KIND;
}

/** Reads chunk `chunk` of the job at `job` into `memory` (the shared memory's current buffer). */
export function readChunk(memory: ArrayBufferLike, job: Int32Array, chunk: number): void {
  const r = Job.read;
  const fd = job[r];
  const position = job[r + 2] * TWO_32 + (job[r + 1] >>> 0);
  const at = job[r + 3] >>> 0, length = job[r + 4] >>> 0;
  const end = Math.min(length, (chunk + 1) * READ_CHUNK_BYTES);
  const into = new Uint8Array(memory, at, length);
  for (let done = chunk * READ_CHUNK_BYTES; done < end;) {
    const n = readSync(fd, into, done, end - done, position + done);
    if (n === 0) throw new LoomError(`the file ended at byte ${position + done}, before the ${length} bytes asked for`);
    done += n;
  }
}
