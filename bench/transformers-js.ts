/**
 * transformers.js (onnxruntime-node) on the bench's GPT-2: the HF folder is exported to ONNX by
 * Loom's own exporter (src/convert/onnx) into bench-models/<id>-onnx/ (fp32 onnx/model.onnx and
 * int8 onnx/model_quantized.onnx), and transformers.js is installed on demand into
 * bench-models/peers/ — it is no dependency of the project: onnxruntime-node alone is ~450 MB, and
 * its install script would fetch CUDA files (turned off by the folder's .npmrc). Each measurement
 * runs bench/transformers-js-worker.ts in a fresh process, like every other engine.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportGPT2Onnx } from "../src/convert/onnx/index.js";
import { runProcess, type ProcessOutput } from "./llama-bench.js";
import type { EngineRow } from "./report.js";
import type { TransformersJsResult } from "./transformers-js-worker.js";

export const TRANSFORMERS_JS_ENGINE = "transformers.js (onnxruntime-node)";
/** The version measured; v4 runs on Node 20 and passes num_logits_to_keep while generating. */
const TRANSFORMERS_JS_PACKAGE = "@huggingface/transformers";
const TRANSFORMERS_JS_VERSION = "4.3.2";
export const TRANSFORMERS_JS_SPEC = `${TRANSFORMERS_JS_PACKAGE}@${TRANSFORMERS_JS_VERSION}`;
/** Bump when the exported graph changes, so cached ONNX folders are rewritten. */
const ONNX_EXPORT_VERSION = 1;
const WORKER = fileURLToPath(new URL("./transformers-js-worker.js", import.meta.url));

export function peersDir(cacheDir: string): string {
  return join(cacheDir, "peers");
}

function packageDir(peers: string, name: string): string | undefined {
  const dir = join(peers, "node_modules", name);
  return existsSync(join(dir, "package.json")) ? dir : undefined;
}

function installedVersion(peers: string, name: string): string | undefined {
  const dir = packageDir(peers, name);
  return dir === undefined ? undefined : (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string }).version;
}

/** The file Node's `import` loads for a package (its exports' node/import entry). */
function esmEntry(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { main?: string; exports?: unknown };
  const exportsMap = pkg.exports as { node?: { import?: { default?: string } | string }; import?: string } | undefined;
  const nodeImport = exportsMap?.node?.import;
  const entry = (typeof nodeImport === "string" ? nodeImport : nodeImport?.default) ?? exportsMap?.import ?? pkg.main ?? "index.js";
  return join(dir, entry);
}

/** The ESM entry of the transformers.js in bench-models/peers/, when that version is installed there. */
export function installedTransformersJs(cacheDir: string): string | undefined {
  const peers = peersDir(cacheDir);
  const dir = packageDir(peers, TRANSFORMERS_JS_PACKAGE);
  if (!dir || installedVersion(peers, TRANSFORMERS_JS_PACKAGE) !== TRANSFORMERS_JS_VERSION || !packageDir(peers, "onnxruntime-node")) return undefined;
  return esmEntry(dir);
}

/**
 * Installs transformers.js into bench-models/peers/ unless that version is there; returns its ESM
 * entry file, or why it could not (npm unreachable, install failure).
 */
export function ensureTransformersJs(cacheDir: string, log: (line: string) => void = () => {}): { entry: string } | { error: string } {
  const peers = peersDir(cacheDir);
  if (installedTransformersJs(cacheDir) === undefined) {
    log(`installing ${TRANSFORMERS_JS_SPEC} into ${peers} …`);
    mkdirSync(peers, { recursive: true });
    // Its own package.json, so npm does not walk up into the project's.
    if (!existsSync(join(peers, "package.json"))) writeFileSync(join(peers, "package.json"), JSON.stringify({ name: "loom-bench-peers", private: true }, null, 2) + "\n");
    // onnxruntime-node's install script reads this flag (or ONNXRUNTIME_NODE_INSTALL; older versions -install-cuda);
    // npm 11 also leaves unapproved install scripts alone.
    writeFileSync(join(peers, ".npmrc"), "onnxruntime-node-install=skip\nonnxruntime-node-install-cuda=skip\n");
    const out = spawnSync("npm", ["install", "--prefix", peers, TRANSFORMERS_JS_SPEC, "--no-audit", "--no-fund"], {
      encoding: "utf8", timeout: 10 * 60_000,
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip", ONNXRUNTIME_NODE_INSTALL_CUDA: "skip" },
    });
    if (out.status !== 0) {
      const why = out.error?.message ?? (out.stderr ?? "").trim().split("\n").filter((l) => !/npm warn/i.test(l)).slice(-3).join(" ");
      return { error: `npm install ${TRANSFORMERS_JS_SPEC} failed: ${why.slice(0, 300)}` };
    }
  }
  const entry = installedTransformersJs(cacheDir);
  return entry === undefined ? { error: `${TRANSFORMERS_JS_SPEC} is not in ${peers} after npm install` } : { entry };
}

/** onnxruntime-node, from the project if it ever has it, else from bench-models/peers/; undefined when neither. */
export function loadOnnxRuntime(cacheDir: string): unknown {
  for (const from of [import.meta.url, join(peersDir(cacheDir), "package.json")]) {
    try {
      return createRequire(from)("onnxruntime-node");
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * The transformers.js model folder for an HF GPT-2 folder: config.json, tokenizer files,
 * onnx/model.onnx (fp32) and onnx/model_quantized.onnx (int8), rewritten when the HF folder's
 * stamp or the exporter changes.
 */
export function prepareOnnxFolder(hfFolder: string, log: (line: string) => void = () => {}): string {
  const dir = join(dirname(hfFolder), basename(hfFolder).replace(/-hf$/, "") + "-onnx");
  const hfStamp = existsSync(`${hfFolder}.stamp.json`) ? readFileSync(`${hfFolder}.stamp.json`, "utf8") : "";
  const stamp = JSON.stringify({ exporter: ONNX_EXPORT_VERSION, hf: hfStamp });
  const stampPath = `${dir}.stamp.json`;
  if (existsSync(join(dir, "onnx", "model_quantized.onnx")) && existsSync(stampPath) && readFileSync(stampPath, "utf8") === stamp) return dir;

  const start = performance.now();
  log(`exporting ${hfFolder} to ONNX in ${dir} …`);
  const temporary = `${dir}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  rmSync(stampPath, { force: true });
  mkdirSync(join(temporary, "onnx"), { recursive: true });
  try {
    copyFileSync(join(hfFolder, "config.json"), join(temporary, "config.json"));
    if (existsSync(join(hfFolder, "tokenizer.json"))) {
      copyFileSync(join(hfFolder, "tokenizer.json"), join(temporary, "tokenizer.json"));
      writeFileSync(join(temporary, "tokenizer_config.json"), JSON.stringify({
        tokenizer_class: "GPT2Tokenizer", add_prefix_space: false, model_max_length: 1024,
        bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>",
      }, null, 2) + "\n");
    }
    exportGPT2Onnx(hfFolder, join(temporary, "onnx", "model.onnx"));
    exportGPT2Onnx(hfFolder, join(temporary, "onnx", "model_quantized.onnx"), { weights: "int8" });
    rmSync(dir, { recursive: true, force: true });
    renameSync(temporary, dir);
    writeFileSync(stampPath, stamp);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
  log(`  done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return dir;
}

export interface TransformersJsOptions {
  /** The bench's HF GPT-2 folder. */
  hfFolder: string;
  /** "f32": onnx/model.onnx; "q8_0": onnx/model_quantized.onnx (int8 per column, transformers.js dtype "q8"). */
  dtype: "f32" | "q8_0";
  cacheDir: string;
  promptTokens: number;
  newTokens: number;
  threads: number;
  timeoutMs: number;
  log?: (line: string) => void;
}

/** Prepared once per bench run: installing and exporting are not part of any measurement. */
let prepared: { entry: string; folder: string } | { error: string } | undefined;

function prepare(options: TransformersJsOptions): { entry: string; folder: string } | { error: string } {
  if (prepared) return prepared;
  const installed = ensureTransformersJs(options.cacheDir, options.log);
  if ("error" in installed) return (prepared = installed);
  try {
    return (prepared = { entry: installed.entry, folder: prepareOnnxFolder(options.hfFolder, options.log) });
  } catch (error) {
    return (prepared = { error: `ONNX export failed: ${(error as Error).message.split("\n")[0]}` });
  }
}

function failure(out: ProcessOutput, timeoutMs: number): string {
  if (out.timedOut) return `ran past the ${timeoutMs / 1000} s limit (--child-timeout-seconds)`;
  const last = out.stderr.trim().split("\n").filter((l) => l.trim().length > 0).slice(-2).join(" ");
  return `exit ${out.code}: ${last.slice(0, 300)}`;
}

/** One measurement of transformers.js in a fresh process, as a bench row. */
export async function measureTransformersJs(options: TransformersJsOptions): Promise<EngineRow> {
  const engine = TRANSFORMERS_JS_ENGINE;
  const ready = prepare(options);
  if ("error" in ready) return { engine, loom: false, missing: ready.error };
  const dtype = options.dtype === "f32" ? "fp32" : "q8";
  const out = await runProcess(process.execPath, [WORKER, "--transformers", ready.entry, "--model", ready.folder, "--dtype", dtype,
    "--threads", String(options.threads), "--prompt-tokens", String(options.promptTokens), "--new-tokens", String(options.newTokens)],
  dirname(ready.folder), options.timeoutMs);
  if (out.code !== 0) return { engine, loom: false, missing: failure(out, options.timeoutMs) };
  let r: TransformersJsResult;
  try {
    r = JSON.parse(out.stdout.trim().split("\n").pop() ?? "") as TransformersJsResult;
  } catch {
    return { engine, loom: false, missing: `no JSON line in its output: ${out.stdout.slice(-200)}` };
  }
  const weights = dtype === "fp32" ? "fp32 onnx/model.onnx" : "q8 onnx/model_quantized.onnx (int8 per column, activations quantized per call)";
  return {
    engine, loom: false, load_ms: r.load_ms, prefill_tps: r.prefill_tps, decode_tps: r.decode_tps, peak_rss_mb: r.peak_rss_mb, kv_mb: r.kv_mb,
    note: `transformers.js ${r.transformers_version}, onnxruntime-node ${r.onnxruntime_version}; ${weights} exported by Loom (opset 17, standard ops, ` +
      `num_logits_to_keep); generate() greedy, timed by a streamer; ${r.threads} intra-op threads; KV f32; ` +
      `load = from_pretrained → first token (importing the library took another ${r.import_ms.toFixed(0)} ms)` +
      (r.new_tokens < options.newTokens ? `; decode stopped after ${r.new_tokens} tokens` : ""),
  };
}
