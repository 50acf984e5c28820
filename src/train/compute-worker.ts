// A helper thread of WasmCompute: instantiates the kernels over the shared memory, then waits for
// a job, takes parts of it, reports, and repeats until told to quit.
import { workerData } from "node:worker_threads";
import { JOB_OFFSET } from "../kernels/wasm/layout.js";
import { instantiateKernelsFrom, type KernelExports, type WasmMemory, type WasmModule } from "../kernels/wasm/kernels.js";
import { Ctl, TRAIN_CONTROL_OFFSET, runAttentionShare, runTransposeShare } from "./compute-share.js";

const { memory, module, thread } = workerData as { memory: WasmMemory; module: WasmModule; thread: number };
const c = new Int32Array(memory.buffer, TRAIN_CONTROL_OFFSET, Ctl.length);
const heap = new Float32Array(memory.buffer);
const words = new Int32Array(memory.buffer);
let kernels: KernelExports | undefined;
try {
  kernels = instantiateKernelsFrom(module, memory);
} catch {
  Atomics.store(c, Ctl.failed, 1);
}

let seen = 0; // the pool posts its first job as generation 1
for (;;) {
  while (Atomics.load(c, Ctl.generation) === seen) Atomics.wait(c, Ctl.generation, seen);
  seen = Atomics.load(c, Ctl.generation);
  if (Atomics.load(c, Ctl.quit) !== 0) break;
  try {
    if (!kernels) throw new Error("kernels failed to instantiate");
    if (c[Ctl.kind] === Ctl.MATMUL) {
      const parts = c[Ctl.parts];
      for (let p = Atomics.add(c, Ctl.next, 1); p < parts; p = Atomics.add(c, Ctl.next, 1)) kernels.runPart(JOB_OFFSET, p, parts);
    } else if (c[Ctl.kind] === Ctl.TRANSPOSE) {
      runTransposeShare(heap, c);
    } else {
      runAttentionShare(kernels, heap, words, c, thread);
    }
  } catch {
    Atomics.store(c, Ctl.failed, 1);
  }
  if (Atomics.sub(c, Ctl.pending, 1) === 1) Atomics.notify(c, Ctl.pending);
}
