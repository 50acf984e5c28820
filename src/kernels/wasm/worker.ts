// A pool worker: instantiates the kernels over the shared memory, then, each time the main thread
// posts a job, claims and runs chunks of it until none is left, until told to quit. A job is a
// kernel's (runChunk) or a file read (read-job.ts).
import { parentPort, workerData } from "node:worker_threads";
import { claimChunk, chunksOf, finishChunk } from "./chunks.js";
import { CONTROL_OFFSET, JOB_OFFSET, Control, Job, type WorkerSetup } from "./layout.js";
import { isReadJob, readChunk } from "./read-job.js";
import { waitWhileEqual } from "./spin.js";
import { instantiateKernelsFrom, type KernelExports } from "./kernels.js";

const setup = workerData as WorkerSetup;
const control = new Int32Array(setup.memory.buffer, CONTROL_OFFSET, Control.length);
const job = new Int32Array(setup.memory.buffer, JOB_OFFSET, Job.length);

let kernels: KernelExports;
try {
  kernels = instantiateKernelsFrom(setup.module, setup.memory);
} catch (error) {
  Atomics.store(control, Control.failed, 1);
  parentPort?.postMessage({ error: String(error) });
  throw error;
}
Atomics.add(control, Control.ready, 1);
parentPort?.postMessage({ ready: true });

let seen = 0; // jobs are numbered from 1, so generation 0 means "none yet"
for (;;) {
  waitWhileEqual(control, Control.generation, seen, setup.spinMicros);
  seen = Atomics.load(control, Control.generation);
  if (Atomics.load(control, Control.quit) !== 0) break;
  for (let chunk = claimChunk(control); chunk >= 0; chunk = claimChunk(control)) {
    // The job cannot change while this chunk is claimed and not done.
    const chunks = chunksOf(Atomics.load(control, Control.work));
    try {
      if (isReadJob(job)) readChunk(setup.memory.buffer, job, chunk);
      else kernels.runChunk(JOB_OFFSET, chunk, chunks, setup.part);
    } catch {
      Atomics.store(control, Control.failed, 1);
    }
    finishChunk(control, chunks);
  }
}
