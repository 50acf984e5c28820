// N - 1 worker threads over the shared memory; the main thread is the N-th. A job is one matmul:
// the main thread writes the job record, bumps the generation word and does part 0 itself, then
// waits for the workers' parts. One synchronisation per matmul, and the caller sees a plain
// synchronous call (Atomics.wait is allowed on Node's main thread).
//
// Workers only start once the main thread's event loop turns, so a program that multiplies right
// after creating the pool would wait on them forever: until every worker has reported in, `run`
// declines and the caller computes alone. `ready` resolves when the pool is fully up.
import { Worker } from "node:worker_threads";
import { LoomError } from "../../errors.js";
import { CONTROL_OFFSET, Control, type WorkerSetup } from "./layout.js";
import { waitWhileEqualFor } from "./spin.js";
import type { WasmMemory, WasmModule } from "./kernels.js";

/** A worker that has not finished its part after this long is considered lost. */
const STALL_MS = 60_000;

export class WorkerPool {
  private readonly control: Int32Array;
  private readonly workers: Worker[] = [];
  private disposed = false;
  /** Resolves once every worker runs; rejects if one cannot start. */
  readonly ready: Promise<void>;

  constructor(
    memory: WasmMemory,
    module: WasmModule,
    readonly size: number,
    private readonly spinMicros: number,
  ) {
    this.control = new Int32Array(memory.buffer, CONTROL_OFFSET, Control.length);
    const started: Array<Promise<void>> = [];
    for (let part = 1; part < size; part++) {
      const setup: WorkerSetup = { module, memory, part, spinMicros };
      const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: setup });
      worker.unref(); // an idle pool never keeps the process alive
      this.workers.push(worker);
      started.push(new Promise<void>((resolve, reject) => {
        worker.once("message", (message: { ready?: boolean; error?: string }) => {
          if (message.ready) resolve();
          else reject(new LoomError(`wasm kernels: worker thread ${part} failed to start: ${message.error}`));
        });
        worker.once("error", (error) => {
          Atomics.store(this.control, Control.failed, 1);
          reject(new LoomError(`wasm kernels: worker thread ${part} failed: ${error.message}`));
        });
      }));
    }
    this.ready = Promise.all(started).then(() => undefined);
    this.ready.catch(() => undefined); // a failed pool is reported through `ready` and by `run` declining
  }

  /** Whether every worker has started (and none has failed): only then does `run` use them. */
  get running(): boolean {
    return Atomics.load(this.control, Control.ready) === this.workers.length &&
      Atomics.load(this.control, Control.failed) === 0;
  }

  /**
   * Runs `mine` (part 0) on this thread while the workers run parts 1 .. size - 1 of the job
   * already written to memory; returns when every part is done. Returns false, having run
   * nothing, while the workers are not all up: the caller then does the whole job itself.
   */
  run(mine: () => void): boolean {
    if (this.disposed) throw new LoomError("wasm kernels: the worker pool was disposed");
    if (!this.running) return false;
    const workers = this.workers.length;
    const control = this.control;
    Atomics.store(control, Control.parts, workers + 1);
    Atomics.store(control, Control.pending, workers);
    Atomics.add(control, Control.generation, 1);
    Atomics.notify(control, Control.generation);
    let error: unknown;
    try {
      mine();
    } catch (e) {
      error = e;
    }
    // Always wait: the workers are still reading this job's buffers.
    for (let left = Atomics.load(control, Control.pending); left !== 0; left = Atomics.load(control, Control.pending)) {
      if (!waitWhileEqualFor(control, Control.pending, left, this.spinMicros, STALL_MS)) {
        throw new LoomError(`wasm kernels: ${left} worker thread(s) did not finish a matmul within ${STALL_MS / 1000} s`);
      }
    }
    if (error !== undefined) throw error;
    if (Atomics.load(control, Control.failed) !== 0) {
      throw new LoomError("wasm kernels: a worker thread failed while running a matmul (out-of-bounds job?)");
    }
    return true;
  }

  /** Stops the workers. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.control, Control.quit, 1);
    Atomics.add(this.control, Control.generation, 1);
    Atomics.notify(this.control, Control.generation);
    for (const worker of this.workers) void worker.terminate();
  }
}
