/**
 * llama.cpp's own benchmark tool, built from the llama.cpp source that node-llama-cpp bundles (a
 * git bundle) against the prebuilt libraries it ships, so it runs exactly the kernels the binding
 * runs, minus the binding's per-token overhead. Two source files and one g++ call (~30 s).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

export interface LlamaBenchBuild {
  binary: string;
  /** Where the shipped libraries are; llama-bench runs here so ggml finds its best CPU backend. */
  libDir: string;
  /** llama.cpp's commit in the bundle. */
  commit: string;
}

/** The folder of node-llama-cpp's prebuilt CPU libraries for this platform. */
export function prebuiltLibDir(): string {
  const platform = `${process.platform}-${process.arch}`;
  const entry = require.resolve(`@node-llama-cpp/${platform}`);
  const bins = join(dirname(entry), "..", "bins");
  const dir = readdirSync(bins).map((d) => join(bins, d)).find((d) => existsSync(d) && readdirSync(d).some((f) => /^libllama.*\.so$/.test(f)));
  if (!dir) throw new Error(`no libllama*.so under ${bins}`);
  return dir;
}

/** node-llama-cpp/llama/gitRelease.bundle (the package exports only its ESM entry, dist/index.js). */
function bundlePath(): string {
  const entry = fileURLToPath(import.meta.resolve("node-llama-cpp"));
  return join(dirname(entry), "..", "llama", "gitRelease.bundle");
}

/** The library file in `dir` whose name matches, for -l:NAME. */
function library(dir: string, pattern: RegExp, what: string): string {
  const name = readdirSync(dir).find((f) => pattern.test(f));
  if (!name) throw new Error(`${dir} has no ${what} library`);
  return name;
}

function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/**
 * Builds llama-bench into `buildDir` unless a build of the same bundle is there. Throws an Error
 * saying what is missing (git, g++, files in the bundle) when it cannot.
 */
export function buildLlamaBench(buildDir: string, sourceDir: string, log: (line: string) => void = () => {}): LlamaBenchBuild {
  const libDir = prebuiltLibDir();
  const bundle = bundlePath();
  if (!existsSync(bundle)) throw new Error(`node-llama-cpp bundles no llama.cpp source (${bundle} is missing)`);
  const binary = join(buildDir, "llama-bench");
  const stampPath = join(buildDir, "stamp.json");
  const head = execFileSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" }).trim().split(/\s+/)[0] ?? "";
  const stamp = JSON.stringify({ bundle: head, libDir });
  if (existsSync(binary) && existsSync(stampPath) && readFileSync(stampPath, "utf8") === stamp) return { binary, libDir, commit: head };

  if (!existsSync(join(sourceDir, ".git")) || git(sourceDir, ["rev-parse", "HEAD"]) !== head) {
    log(`extracting llama.cpp ${head.slice(0, 10)} from node-llama-cpp's bundle …`);
    rmSync(sourceDir, { recursive: true, force: true });
    execFileSync("git", ["clone", "--quiet", bundle, sourceDir], { stdio: "pipe" });
  }
  const tool = join(sourceDir, "tools", "llama-bench");
  const needed = [join(tool, "main.cpp"), join(tool, "llama-bench.cpp"), join(sourceDir, "include", "llama.h"), join(sourceDir, "common", "common.h"), join(sourceDir, "ggml", "include", "ggml.h")];
  const missing = needed.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`the bundled llama.cpp source is incomplete: missing ${missing.join(", ")}`);

  mkdirSync(buildDir, { recursive: true });
  const args = [
    "-O2", "-DNDEBUG", "-std=c++17",
    `-I${join(sourceDir, "include")}`, `-I${join(sourceDir, "ggml", "include")}`, `-I${join(sourceDir, "common")}`,
    `-I${join(sourceDir, "vendor")}`, `-I${tool}`,
    join(tool, "main.cpp"), join(tool, "llama-bench.cpp"),
    "-o", binary,
    `-L${libDir}`,
    `-l:${library(libDir, /^libllama-common\.so$/, "llama-common")}`,
    `-l:${library(libDir, /^libllama(\.v[\d.]+)?\.so$/, "llama")}`,
    `-l:${library(libDir, /^libggml(\.v[\d.]+)?\.so$/, "ggml")}`,
    `-l:${library(libDir, /^libggml-base\.so$/, "ggml-base")}`,
    `-Wl,-rpath,${libDir}`, "-pthread",
  ];
  log("compiling llama-bench against node-llama-cpp's libraries (~30 s) …");
  const start = performance.now();
  try {
    execFileSync("g++", args, { stdio: "pipe" });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message);
    throw new Error(`g++ could not build llama-bench:\n${tail(stderr)}`);
  }
  log(`  built in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  writeFileSync(stampPath, stamp);
  return { binary, libDir, commit: head };
}

function git(dir: string, args: string[]): string {
  try {
    return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

export interface LlamaBenchResult {
  prefill_tps: number;
  prefill_stddev: number;
  decode_tps: number;
  decode_stddev: number;
  repetitions: number;
  threads: number;
  type_k: string;
  type_v: string;
  /** -1 auto, 0 off, 1 on. */
  flash_attn: number;
  n_batch: number;
  n_ubatch: number;
  /** Peak RSS of the whole run (GNU time), when /usr/bin/time exists; mapped file pages count. */
  peak_rss_mb: number | null;
  wall_ms: number;
  /** Positions already in the context when decoding starts (-d). */
  decode_depth: number;
  build_commit: string;
}

interface LlamaBenchRow {
  n_prompt: number; n_gen: number; avg_ts: number; stddev_ts: number; n_threads: number;
  type_k: string; type_v: string; flash_attn: number | boolean; n_batch: number; n_ubatch: number;
  samples_ts: number[]; build_commit: string;
  /** Positions of context before the test (-d); absent in builds without it. */
  n_depth?: number;
}

const RSS_MARK = "LOOM_MAX_RSS_KB=";

interface LlamaBenchRun {
  rows: LlamaBenchRow[];
  /** Peak RSS (GNU time), when /usr/bin/time exists. */
  rssMB: number | null;
  wallMs: number;
}

/** One `llama-bench … -o json` process with these test arguments. */
async function invokeLlamaBench(build: LlamaBenchBuild, testArgs: string[], timeoutMs: number): Promise<LlamaBenchRun> {
  const args = [...testArgs, "-o", "json"];
  const timed = existsSync("/usr/bin/time");
  const [command, argv] = timed ? ["/usr/bin/time", ["-f", `${RSS_MARK}%M`, build.binary, ...args]] : [build.binary, args];
  const start = performance.now();
  const { stdout, stderr, code, timedOut } = await runProcess(command, argv, build.libDir, timeoutMs);
  const wallMs = performance.now() - start;
  if (timedOut) throw new Error(`llama-bench ran past the ${Math.round(timeoutMs / 1000)} s limit (--child-timeout-seconds)`);
  if (code !== 0) throw new Error(`llama-bench exited with ${code}: ${tail(stderr, 2)}`);
  const rss = stderr.split("\n").find((l) => l.startsWith(RSS_MARK));
  return { rows: JSON.parse(stdout) as LlamaBenchRow[], rssMB: rss ? (Number(rss.slice(RSS_MARK.length)) * 1024) / 1e6 : null, wallMs };
}

/**
 * Prefill as `llama-bench -p P -n 0` (an empty context, as Loom's prefill), decode as
 * `llama-bench -p 0 -n N -d P`: N tokens generated after P positions of context, where every other
 * engine here decodes (after its prompt). llama-bench's plain `-n N` would decode from an empty
 * context, with less attention work per token than the engines it is compared with.
 */
export async function runLlamaBench(
  build: LlamaBenchBuild,
  model: string,
  options: { promptTokens: number; newTokens: number; threads: number; repetitions: number; timeoutMs: number },
): Promise<LlamaBenchResult> {
  const common = ["-m", model, "-t", String(options.threads), "-r", String(options.repetitions)];
  const prefill = await invokeLlamaBench(build, [...common, "-p", String(options.promptTokens), "-n", "0"], options.timeoutMs);
  const decode = await invokeLlamaBench(
    build, [...common, "-p", "0", "-n", String(options.newTokens), "-d", String(options.promptTokens)], options.timeoutMs,
  );
  const pp = prefill.rows.find((r) => r.n_prompt > 0 && r.n_gen === 0);
  const tg = decode.rows.find((r) => r.n_gen > 0 && r.n_prompt === 0);
  if (!pp || !tg) throw new Error(`llama-bench printed no pp/tg rows: ${JSON.stringify([...prefill.rows, ...decode.rows]).slice(0, 200)}`);
  if ((tg.n_depth ?? 0) !== options.promptTokens) {
    throw new Error(`llama-bench decoded at depth ${tg.n_depth ?? 0}, not ${options.promptTokens} (a build without -d?)`);
  }
  const rss = [prefill.rssMB, decode.rssMB].filter((v): v is number => v !== null);
  return {
    prefill_tps: pp.avg_ts, prefill_stddev: pp.stddev_ts,
    decode_tps: tg.avg_ts, decode_stddev: tg.stddev_ts,
    repetitions: tg.samples_ts.length,
    threads: tg.n_threads, type_k: tg.type_k, type_v: tg.type_v, flash_attn: Number(tg.flash_attn),
    n_batch: tg.n_batch, n_ubatch: tg.n_ubatch,
    peak_rss_mb: rss.length > 0 ? Math.max(...rss) : null,
    wall_ms: prefill.wallMs + decode.wallMs,
    decode_depth: tg.n_depth ?? 0,
    build_commit: tg.build_commit,
  };
}

export interface ProcessOutput {
  stdout: string;
  stderr: string;
  code: number | null;
  /** Killed for running past its time limit. */
  timedOut: boolean;
}

/** Runs a command to completion (or kills it after timeoutMs), collecting its output. */
export function runProcess(command: string, args: string[], cwd: string | undefined, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<ProcessOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => { clearTimeout(timer); reject(error); });
    child.on("close", (code) => { clearTimeout(timer); resolve({ stdout, stderr, code, timedOut }); });
  });
}
