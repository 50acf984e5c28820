// N - 1 worker threads over the shared memory; the main thread is the N-th. A job is one matmul:
// the main thread writes the job record, opens its chunks (chunks.ts) and wakes the workers, then
// claims chunks itself like any worker until none is left, and waits for the ones still running.
// One synchronisation per matmul, and the caller sees a plain synchronous call (Atomics.wait is
// allowed on Node's main thread). A worker that is slow to wake only gets fewer chunks.
//
// Workers take ~40 ms to come up (a Node worker, then the kernels instantiated), and a pool that
// waited for them would stall its first calls: until every worker has reported in (an atomic
// counter, seen without the event loop turning), `run` declines and the caller computes alone.
// `ready` resolves when the pool is fully up; `waitRunning` waits for it synchronously.
import { Worker } from "node:worker_threads";
import { LoomError } from "../../errors.js";
import { CONTROL_OFFSET, Control, type WorkerSetup } from "./layout.js";
import { claimChunk, closeWork, finishChunk, openWork } from "./chunks.js";
import { waitWhileEqualFor } from "./spin.js";
import type { WasmMemory, WasmModule } from "./kernels.js";

/** A worker that has not finished its part after this long is considered lost. */
const STALL_MS = 60_000;

/**
 * A worker inherits the process's Node options, except that `--input-type` (`node --input-type=module
 * -e …`) makes it fail to start; an explicit list may not hold V8 options, so such a process gives
 * its workers none.
 */
function startWorker(setup: WorkerSetup): Worker {
  const url = new URL("./worker.js", import.meta.url);
  if (!process.execArgv.some((arg) => arg.startsWith("--input-type"))) return new Worker(url, { workerData: setup });
  return new Worker(url, { workerData: setup, execArgv: [] });
}

export class WorkerPool {
  private readonly control: Int32Array;
  private readonly workers: Worker[] = [];
  private disposed = false;
  /** Jobs run so far: each job's claim word carries its number. */
  private jobs = 0;
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
      const worker = startWorker(setup);
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

  /**
   * Blocks this thread until every worker has started (true), one has failed, or `timeoutMs` has
   * passed (false). For work worth waiting for, such as reading the weights on every thread.
   */
  waitRunning(timeoutMs: number): boolean {
    const until = performance.now() + timeoutMs;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!this.running) {
      if (this.disposed || Atomics.load(this.control, Control.failed) !== 0 || performance.now() >= until) return false;
      Atomics.wait(nap, 0, 0, 1); // a 1 ms sleep
    }
    return true;
  }

  /** Whether every worker has started (and none has failed): only then does `run` use them. */
  get running(): boolean {
    return Atomics.load(this.control, Control.ready) === this.workers.length &&
      Atomics.load(this.control, Control.failed) === 0;
  }

  /**
   * Runs the job already written to memory, cut into `chunks` chunks: `runChunk(chunk, slot)` on
   * this thread (slot 0) for every chunk it claims, the workers taking the others. Returns when
   * every chunk is done. Returns false, having run nothing, while the workers are not all up:
   * the caller then does the whole job itself.
   */
  run(chunks: number, runChunk: (chunk: number, slot: number) => void): boolean {
    if (this.disposed) throw new LoomError("wasm kernels: the worker pool was disposed");
    if (!this.running) return false;
    const control = this.control;
    this.jobs++;
    Atomics.store(control, Control.done, 0);
    Atomics.store(control, Control.work, openWork(this.jobs, chunks));
    Atomics.add(control, Control.generation, 1);
    Atomics.notify(control, Control.generation);
    let error: unknown;
    for (let chunk = claimChunk(control); chunk >= 0; chunk = claimChunk(control)) {
      try {
        runChunk(chunk, 0);
      } catch (e) {
        // Nobody else may start this job's chunks; count them, and this one, as done.
        error = e;
        Atomics.add(control, Control.done, closeWork(control));
      }
      finishChunk(control, chunks);
      if (error !== undefined) break;
    }
    // Always wait: the workers are still reading this job's buffers.
    for (let done = Atomics.load(control, Control.done); done < chunks; done = Atomics.load(control, Control.done)) {
      if (!waitWhileEqualFor(control, Control.done, done, this.spinMicros, STALL_MS)) {
        throw new LoomError(`wasm kernels: ${chunks - done} chunk(s) of a job did not finish within ${STALL_MS / 1000} s`);
      }
    }
    if (error !== undefined) throw error;
    if (Atomics.load(control, Control.failed) !== 0) {
      throw new LoomError("wasm kernels: a worker thread failed while running a job (an out-of-bounds kernel job, or a file read that failed)");
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
