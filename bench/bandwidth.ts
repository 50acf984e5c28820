/**
 * Memory read bandwidth, the physical limit on decode speed (every weight is read once per
 * token): summing 1 GB of f32 values, far larger than any cache, with a plain JavaScript loop over
 * a Float32Array and with WebAssembly SIMD on 1 and N threads. On a shared machine other work
 * only ever lowers what a measurement sees, so the probe is rerun during a run and keeps the best.
 */
import { Worker } from "node:worker_threads";
import { instantiateSum, sharedMemory, type SumFunction, type WasmMemory } from "./sum-wasm.js";

export interface Bandwidth {
  bytes: number;
  /** GB/s (10^9 bytes) of a JavaScript Float32Array sum, one thread. */
  jsOneThread: number;
  /** GB/s of the WebAssembly SIMD sum, keyed by thread count. */
  wasm: Map<number, number>;
  /** How many times the probe ran; each figure is the best seen. */
  samples: number;
}

/** A plain loop with eight accumulators so the adds do not wait on each other. */
function jsSum(values: Float32Array): number {
  let a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0;
  for (let i = 0; i < values.length; i += 8) {
    a += values[i]; b += values[i + 1]; c += values[i + 2]; d += values[i + 3];
    e += values[i + 4]; f += values[i + 5]; g += values[i + 6]; h += values[i + 7];
  }
  return a + b + c + d + e + f + g + h;
}

function bestSeconds(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best / 1000;
}

export class BandwidthProbe {
  readonly bytes: number;
  private readonly memory: WasmMemory;
  private readonly values: Float32Array;
  private readonly sum: SumFunction;
  private readonly result: Bandwidth;

  constructor(gigabytes = 1) {
    this.bytes = Math.round((gigabytes * 1e9) / 64) * 64;
    this.memory = sharedMemory(this.bytes);
    // Written first: untouched pages all map to one zero page and would be read from cache.
    this.values = new Float32Array(this.memory.buffer, 0, this.bytes / 4);
    this.values.fill(1);
    this.sum = instantiateSum(this.memory);
    this.result = { bytes: this.bytes, jsOneThread: 0, wasm: new Map(), samples: 0 };
  }

  /** Measures again on 1 and each of `threadCounts` threads, keeping the best figures. */
  async measure(threadCounts: readonly number[], runs = 3): Promise<Bandwidth> {
    const r = this.result;
    const gbs = (seconds: number) => this.bytes / seconds / 1e9;
    r.jsOneThread = Math.max(r.jsOneThread, gbs(bestSeconds(runs, () => jsSum(this.values))));
    const keep = (threads: number, value: number) => r.wasm.set(threads, Math.max(r.wasm.get(threads) ?? 0, value));
    keep(1, gbs(bestSeconds(runs, () => this.sum(0, this.bytes))));
    for (const t of threadCounts) if (t > 1) keep(t, gbs(await this.threadedSeconds(t, runs)));
    r.samples++;
    return this.snapshot();
  }

  snapshot(): Bandwidth {
    return { ...this.result, wasm: new Map([...this.result.wasm].sort(([a], [b]) => a - b)) };
  }

  private async threadedSeconds(threads: number, runs: number): Promise<number> {
    const slice = Math.floor(this.bytes / threads / 64) * 64;
    const workers = Array.from({ length: threads }, (_, i) =>
      new Worker(new URL("./bandwidth-worker.js", import.meta.url), { workerData: { memory: this.memory, start: i * slice, end: (i + 1) * slice } }));
    const next = (w: Worker) => new Promise<unknown>((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
    try {
      await Promise.all(workers.map(next));
      let best = Infinity;
      for (let r = 0; r < runs; r++) {
        const start = performance.now();
        const done = Promise.all(workers.map(next));
        for (const w of workers) w.postMessage("go");
        await done;
        best = Math.min(best, performance.now() - start);
      }
      return best / 1000;
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }
}
