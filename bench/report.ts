/**
 * The bench's tables: each engine's figures on one model file, Loom's ratio to each peer, and how
 * close decode gets to the memory-bandwidth limit. Rendered as Markdown (BENCHMARKS.md and the
 * console alike: Markdown tables read fine in a terminal).
 */
import type { TokenizerBenchResult } from "./tokenizers.js";
import type { Bandwidth } from "./bandwidth.js";
import type { Machine } from "./machine.js";

export interface EngineRow {
  engine: string;
  /** Loom rows are compared with every peer row of their group. */
  loom: boolean;
  load_ms?: number;
  prefill_tps?: number;
  decode_tps?: number;
  peak_rss_mb?: number;
  /** Memory of the attention keys/values at the end of the run. */
  kv_mb?: number;
  /** Settings worth knowing (KV type, repetitions…). */
  note?: string;
  /** Why there are no figures. */
  missing?: string;
}

export interface GroupResult {
  /** e.g. "GPT-2-124M · Q8_0". */
  title: string;
  /** The files, their sizes. */
  files: string;
  weightBytesPerToken: number;
  /** Bandwidth (GB/s) the limit is computed from, and for how many threads. */
  bandwidthGBs?: number;
  rows: EngineRow[];
}

export interface RunReport {
  machine: Machine;
  date: string;
  settings: { promptTokens: number; newTokens: number; threads: number; repetitions: number; rounds: number };
  bandwidth?: Bandwidth;
  groups: GroupResult[];
  tokenizers?: TokenizerBenchResult;
  notes: string[];
  totalSeconds: number;
}

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

/** Decode tokens/s when every weight byte is read once per token at the measured bandwidth. */
export function decodeLimit(group: GroupResult): number | undefined {
  return group.bandwidthGBs === undefined ? undefined : (group.bandwidthGBs * 1e9) / group.weightBytesPerToken;
}

function groupTable(group: GroupResult): string[] {
  const limit = decodeLimit(group);
  const lines = [
    `### ${group.title}`,
    "",
    `${group.files}; ${mb(group.weightBytesPerToken)} of weights read per decoded token` +
      (limit === undefined ? "." : ` → bandwidth limit ${fmt(limit)} tokens/s at ${fmt(group.bandwidthGBs)} GB/s.`),
    "",
    "| engine | load ms (cold, to first token) | prefill tokens/s | decode tokens/s | peak RSS MB | KV MB | decode / limit |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of group.rows) {
    if (r.missing !== undefined) {
      lines.push(`| ${r.engine} | not measured: ${r.missing} | | | | | |`);
      continue;
    }
    const share = limit === undefined || r.decode_tps === undefined ? "–" : `${((100 * r.decode_tps) / limit).toFixed(0)}%`;
    lines.push(`| ${r.engine} | ${fmt(r.load_ms, 0)} | ${fmt(r.prefill_tps)} | ${fmt(r.decode_tps)} | ${fmt(r.peak_rss_mb, 0)} | ${fmt(r.kv_mb)} | ${share} |`);
  }
  const notes = group.rows.filter((r) => r.note !== undefined).map((r) => `${r.engine}: ${r.note}`);
  if (limit !== undefined && group.rows.some((r) => (r.decode_tps ?? 0) > limit)) {
    notes.push("A decode above the limit means the bandwidth probe was slowed by other work on the machine: the true limit is higher.");
  }
  if (notes.length > 0) lines.push("", ...notes.map((n) => `- ${n}`));
  const ratios = ratioLines(group);
  if (ratios.length > 0) lines.push("", "Loom ÷ peer (above 1× Loom is faster for tokens/s; below 1× it is quicker/smaller for load and RSS):", "", ...ratios);
  return lines;
}

function ratio(a: number | undefined, b: number | undefined): string | undefined {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return undefined;
  return `${(a / b).toFixed(2)}×`;
}

export function ratioLines(group: GroupResult): string[] {
  const lines: string[] = [];
  const measured = group.rows.filter((r) => r.missing === undefined);
  for (const loom of measured.filter((r) => r.loom)) {
    for (const peer of measured.filter((r) => !r.loom)) {
      const parts = [
        ["prefill", ratio(loom.prefill_tps, peer.prefill_tps)],
        ["decode", ratio(loom.decode_tps, peer.decode_tps)],
        ["load", ratio(loom.load_ms, peer.load_ms)],
        ["peak RSS", ratio(loom.peak_rss_mb, peer.peak_rss_mb)],
      ].filter((p): p is [string, string] => p[1] !== undefined);
      if (parts.length > 0) lines.push(`- ${loom.engine} ÷ ${peer.engine}: ${parts.map(([k, v]) => `${k} ${v}`).join(", ")}`);
    }
  }
  return lines;
}

function tokenizerTables(t: TokenizerBenchResult): string[] {
  const table = (title: string, rows: TokenizerBenchResult["gpt2"]): string[] => {
    const loom = rows[0]?.mbPerSecond ?? NaN;
    return [
      `**${title}**`,
      "",
      "| tokenizer | MB/s | Loom ÷ it | same ids as Loom |",
      "| --- | ---: | ---: | --- |",
      ...rows.map((r, i) => `| ${r.name} | ${fmt(r.mbPerSecond, 2)} | ${i === 0 ? "" : `${fmt(loom / r.mbPerSecond, 2)}×`} | ${r.sameIds ? "yes" : "NO"} |`),
      "",
    ];
  };
  return [
    ...table("GPT-2 encode, mixed text", t.gpt2),
    ...table("Mistral / Llama-2 SentencePiece BPE encode, mixed text", t.mistral),
    "**Memory on a 10 MB single-line input**",
    "",
    "| tokenizer | seconds | tokens | RSS growth MB |",
    "| --- | ---: | ---: | ---: |",
    ...t.memory.map((m) => `| ${m.name} | ${fmt(m.seconds, 2)} | ${m.tokens} | ${fmt(m.rssGrowthMB, 0)} |`),
  ];
}

export function renderReport(report: RunReport): string {
  const m = report.machine;
  const s = report.settings;
  const bw = report.bandwidth;
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB.toFixed(1)} GiB RAM, Node ${m.node}; load average ${m.loadAverage.toFixed(1)} at the start (a shared machine: absolute figures drift, ratios within the run are what count).`,
    `Run: ${report.date}, ${s.promptTokens}-token prompt, ${s.newTokens} new tokens, ${s.threads} threads, best of ${s.rounds} interleaved round${s.rounds === 1 ? "" : "s"} per engine (llama-bench -r ${s.repetitions} in each); ${report.totalSeconds.toFixed(0)} s in all.`,
    "",
  ];
  if (bw) {
    const wasm = [...bw.wasm].map(([t, g]) => `${fmt(g)} GB/s on ${t} thread${t === 1 ? "" : "s"}`).join(", ");
    lines.push(`Memory read bandwidth (sum of ${(bw.bytes / 1e9).toFixed(0)} GB of f32, best of ${bw.samples} measurement${bw.samples === 1 ? "" : "s"} spread over the run): WebAssembly SIMD ${wasm}; a plain JavaScript Float32Array loop ${fmt(bw.jsOneThread)} GB/s on one thread.`, "");
  }
  for (const g of report.groups) lines.push(...groupTable(g), "");
  if (report.tokenizers) lines.push("### Tokenizers (bench/tokenizers.ts)", "", ...tokenizerTables(report.tokenizers), "");
  if (report.notes.length > 0) lines.push("### Notes from this run", "", ...report.notes.map((n) => `- ${n}`), "");
  return lines.join("\n");
}
