// Waiting on a word of shared memory: spin briefly (a wake through Atomics.wait/notify costs
// ~12 µs, longer than many gaps between matmuls), then sleep in Atomics.wait.

/** Returns once words[index] !== value. Spins about `spinMicros` before it sleeps. */
export function waitWhileEqual(words: Int32Array, index: number, value: number, spinMicros: number): void {
  if (Atomics.load(words, index) !== value) return;
  const spinUntil = performance.now() + spinMicros / 1000;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(words, index) !== value) return;
    if (performance.now() >= spinUntil) break;
  }
  while (Atomics.load(words, index) === value) Atomics.wait(words, index, value);
}

/**
 * Like waitWhileEqual, but gives up after `timeoutMs` of sleeping and returns false, so the main
 * thread can report a stalled pool instead of hanging.
 */
export function waitWhileEqualFor(
  words: Int32Array, index: number, value: number, spinMicros: number, timeoutMs: number,
): boolean {
  if (Atomics.load(words, index) !== value) return true;
  const spinUntil = performance.now() + spinMicros / 1000;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(words, index) !== value) return true;
    if (performance.now() >= spinUntil) break;
  }
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const current = Atomics.load(words, index);
    if (current !== value) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(words, index, value, left);
  }
}
