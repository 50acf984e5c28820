import { HEAP_START, MAX_PAGES, PAGE_BYTES } from "../kernels/wasm/layout.js";
import { wasmApi, type WasmMemory } from "../kernels/wasm/kernels.js";
import { LoomError } from "../errors.js";
import type { Floats } from "./floats.js";

export type FloatKind = "f32" | "f64";

/**
 * Where the buffers live: plain memory (single-threaded TypeScript), or a shared
 * WebAssembly.Memory that the WebAssembly kernels and worker threads read and write in place.
 */
export type Backing = "plain" | "wasm";

export interface Arena<T> {
  views: T;
  memory?: WasmMemory;
}

/**
 * Lays out many buffers in one allocation. `build` is called twice with the same arguments: once
 * to count, once to hand out views.
 */
export function allocateArena<T>(kind: FloatKind, backing: Backing, build: (alloc: (n: number) => Floats) => T): Arena<T> {
  const ALIGN = 16; // floats: keeps every buffer on its own 64-byte cache line
  let total = 0;
  build((n) => {
    total += Math.ceil(n / ALIGN) * ALIGN;
    return new Float32Array(0);
  });
  let arena: Floats;
  let memory: WasmMemory | undefined;
  if (backing === "wasm") {
    if (kind !== "f32") throw new LoomError("the WebAssembly kernels work on f32 only");
    const pages = Math.ceil((HEAP_START + total * 4) / PAGE_BYTES);
    if (pages > MAX_PAGES) throw new LoomError(`training buffers need ${(total * 4 / 2 ** 30).toFixed(2)} GiB, over the 4 GiB a WebAssembly memory can hold; lower the batch or sequence length`);
    memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
    arena = new Float32Array(memory.buffer, HEAP_START, total);
  } else {
    arena = kind === "f32" ? new Float32Array(total) : new Float64Array(total);
  }
  let next = 0;
  const views = build((n) => {
    const view = arena.subarray(next, next + n);
    next += Math.ceil(n / ALIGN) * ALIGN;
    return view;
  });
  return { views, memory };
}
