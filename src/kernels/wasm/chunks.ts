// Work sharing for one job: its rows are cut into chunks that any thread may claim, so a thread
// the OS has not scheduled yet (a busy or shared machine) delays nobody: the others take its
// chunks. One control word holds the whole claim state, so a claim is one compare-and-swap:
//
//   work = tag (12 bits: the job's number) | chunks (10 bits) | next chunk to claim (10 bits)
//
// A claim reads the job record only after it succeeds, and the main thread rewrites the record
// only once every claimed chunk is done, so a late thread never mixes two jobs.
import { Control } from "./layout.js";

export const MAX_CHUNKS = 1023;
const INDEX_BITS = 10;
const INDEX_MASK = (1 << INDEX_BITS) - 1;

/** The word that opens job number `job` with `chunks` chunks, none claimed. */
export function openWork(job: number, chunks: number): number {
  return ((job & 0xfff) << (2 * INDEX_BITS)) | (chunks << INDEX_BITS);
}

export function chunksOf(word: number): number {
  return (word >>> INDEX_BITS) & INDEX_MASK;
}

/** Claims the next chunk of the current job: the chunk's index, or -1 when none is left. */
export function claimChunk(control: Int32Array): number {
  for (;;) {
    const word = Atomics.load(control, Control.work);
    const index = word & INDEX_MASK;
    if (index >= chunksOf(word)) return -1;
    if (Atomics.compareExchange(control, Control.work, word, word + 1) === word) return index;
  }
}

/** Closes the job to further claims; returns how many chunks nobody had claimed. */
export function closeWork(control: Int32Array): number {
  for (;;) {
    const word = Atomics.load(control, Control.work);
    const chunks = chunksOf(word), index = word & INDEX_MASK;
    if (index >= chunks) return 0;
    if (Atomics.compareExchange(control, Control.work, word, (word & ~INDEX_MASK) | chunks) === word) return chunks - index;
  }
}

/** Marks one chunk done; wakes the main thread when it was the last. */
export function finishChunk(control: Int32Array, chunks: number): void {
  if (Atomics.add(control, Control.done, 1) + 1 === chunks) Atomics.notify(control, Control.done);
}
