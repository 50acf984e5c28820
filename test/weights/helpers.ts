import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { LoomError } from "../../src/errors.js";

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normally distributed values (Box–Muller) times `scale`. */
export function gaussian(random: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - random(), v = random();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "loom-weights-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts `fn` throws a LoomError whose message contains every fragment. */
export function assertLoomError(fn: () => unknown, ...fragments: string[]): LoomError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof LoomError, `expected a LoomError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  for (const fragment of fragments) {
    assert.ok(caught.message.includes(fragment), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(fragment)}`);
  }
  return caught;
}

/**
 * The nearest f16 to x by brute force over the ordered positive halves (ties to the even bit
 * pattern), with values from 65520 up rounding to infinity: a slow, independent twin of f32ToF16.
 */
export function slowNearestF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const value = (h: number) => (h === 0x7c00 ? 65536 : h < 0x400 ? h * 2 ** -24 : (1 + (h & 0x3ff) / 1024) * 2 ** ((h >> 10) - 15));
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0, hi = 0x7c00; // value(lo) <= a < value(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (value(mid) <= a) lo = mid; else hi = mid;
  }
  const below = a - value(lo), above = value(hi) - a;
  const pick = below < above ? lo : above < below ? hi : (lo & 1) === 0 ? lo : hi;
  return sign | pick;
}
