// A pool worker: instantiates the kernels over the shared memory, then runs its part of every job
// the main thread posts through the control words, until told to quit.
import { parentPort, workerData } from "node:worker_threads";
import { CONTROL_OFFSET, JOB_OFFSET, Control, type WorkerSetup } from "./layout.js";
import { waitWhileEqual } from "./spin.js";
import { instantiateKernelsFrom, type KernelExports } from "./kernels.js";

const setup = workerData as WorkerSetup;
const control = new Int32Array(setup.memory.buffer, CONTROL_OFFSET, Control.length);

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
  const parts = Atomics.load(control, Control.parts);
  try {
    if (setup.part < parts) kernels.runPart(JOB_OFFSET, setup.part, parts);
  } catch {
    Atomics.store(control, Control.failed, 1);
  }
  if (Atomics.sub(control, Control.pending, 1) === 1) Atomics.notify(control, Control.pending);
}
