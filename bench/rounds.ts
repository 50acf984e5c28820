/**
 * On a shared machine other work only ever slows an engine down, so when each engine is measured
 * in several interleaved rounds its best figures are the ones closest to what it can do.
 */
import type { EngineRow } from "./report.js";

function best(values: (number | undefined)[], pick: (a: number, b: number) => number): number | undefined {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return present.length === 0 ? undefined : present.reduce((a, b) => pick(a, b));
}

/** One row from an engine's rounds: the fastest rates, the quickest load, the smallest peak RSS. */
export function bestOfRounds(rounds: readonly EngineRow[]): EngineRow {
  if (rounds.length === 0) throw new Error("bestOfRounds needs at least one round");
  const measured = rounds.filter((r) => r.missing === undefined);
  if (measured.length === 0) return rounds[rounds.length - 1];
  const fastest = measured.reduce((a, b) => ((b.decode_tps ?? -1) > (a.decode_tps ?? -1) ? b : a));
  const notes = [fastest.note, measured.length > 1 ? `best of ${measured.length} rounds` : undefined];
  if (measured.length < rounds.length) notes.push(`${rounds.length - measured.length} round(s) failed: ${rounds.find((r) => r.missing !== undefined)!.missing}`);
  return {
    engine: fastest.engine,
    loom: fastest.loom,
    load_ms: best(measured.map((r) => r.load_ms), Math.min),
    prefill_tps: best(measured.map((r) => r.prefill_tps), Math.max),
    decode_tps: best(measured.map((r) => r.decode_tps), Math.max),
    peak_rss_mb: best(measured.map((r) => r.peak_rss_mb), Math.min),
    kv_mb: fastest.kv_mb,
    note: notes.filter((n): n is string => n !== undefined).join("; ") || undefined,
  };
}
