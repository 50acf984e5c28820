/**
 * Where long-lived float buffers (KV caches) come from: ordinary arrays, or a WebAssembly runtime's
 * shared memory (src/nn/ops.ts), whose regions must be handed back explicitly. A buffer made with
 * `ownedFloats` goes back when it is replaced (`releaseOwned`) or when its owner is garbage-collected
 * (a cloned cache of a finished beam), so cached positions never leak shared memory.
 */
export interface FloatMemory {
  /** `length` zeroed floats. */
  floats(length: number): Float32Array;
  /** Gives a buffer from `floats` back; it must not be used again. */
  release(view: Float32Array): void;
}

export const HEAP_MEMORY: FloatMemory = {
  floats: (length) => new Float32Array(length),
  release: () => {},
};

interface Owned {
  memory: FloatMemory;
  view: Float32Array;
}

const finalizer = new FinalizationRegistry<Owned>(({ memory, view }) => memory.release(view));

/** `length` floats from `memory` that go back when `owner` is collected (unless released before). */
export function ownedFloats(memory: FloatMemory, owner: object, length: number): Float32Array {
  const view = memory.floats(length);
  if (memory !== HEAP_MEMORY) finalizer.register(owner, { memory, view }, view);
  return view;
}

/** Hands an `ownedFloats` buffer back now. */
export function releaseOwned(memory: FloatMemory, view: Float32Array): void {
  if (memory === HEAP_MEMORY) return;
  finalizer.unregister(view);
  memory.release(view);
}

/** Releases every view in `views` (releaseOwned) and leaves an empty array in its place. */
export function releaseAll(memory: FloatMemory, views: Float32Array[]): void {
  for (let i = 0; i < views.length; i++) {
    releaseOwned(memory, views[i]);
    views[i] = new Float32Array(0);
  }
}
