/**
 * transformers.js measured like `loom bench` (same seeded prompt ids, greedy decoding, the same
 * clock points), in its own process so its load is cold and its peak RSS its own:
 *   node dist/bench/transformers-js-worker.js --transformers ENTRY.mjs --model ONNX_FOLDER [--dtype fp32|q8]
 *        [--prompt-tokens 128] [--new-tokens 128] [--threads 2]
 * prints one JSON object (TransformersJsResult) as its last line.
 *
 * Timing goes through generate(), as users call it, with a streamer: generate() puts the prompt,
 * then each new token right after the forward that produced it. So the first token after the
 * prompt closes the prefill, and each one after it is one decode step.
 */
import { basename, dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_WARMUP_TOKENS, randomPrompt, WARMUP_SECONDS } from "../src/cli/bench.js";

export interface TransformersJsResult {
  prefill_tps: number;
  decode_tps: number;
  /** from_pretrained → the token of a first one-token generate(). */
  load_ms: number;
  /** import() of the library (and onnxruntime-node's native binding). */
  import_ms: number;
  peak_rss_mb: number;
  new_tokens: number;
  kv_mb: number;
  threads: number;
  dtype: string;
  transformers_version: string;
  onnxruntime_version: string;
  /** The greedy tokens, so runs can be compared with Loom's. */
  tokens: number[];
}

/** The slice of transformers.js this worker uses (it is imported by path, without types). */
interface TensorLike { dims: number[] }
interface Library {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string; version: string; backends?: { onnx?: { versions?: Record<string, string> } } };
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => TensorLike;
  AutoModelForCausalLM: {
    from_pretrained(id: string, options: Record<string, unknown>): Promise<CausalLMLike>;
  };
}
interface CausalLMLike {
  config: { n_layer: number; n_embd: number; vocab_size: number };
  generate(options: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<unknown>;
}

function ids(tokens: number[], Tensor: Library["Tensor"]): { input_ids: TensorLike; attention_mask: TensorLike } {
  return {
    input_ids: new Tensor("int64", BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
    attention_mask: new Tensor("int64", new BigInt64Array(tokens.length).fill(1n), [1, tokens.length]),
  };
}

/** Greedy, no end-of-text stop (random weights may pick it), no other logits processors. */
const GREEDY = { do_sample: false, eos_token_id: null, num_beams: 1 };

export async function runTransformersJs(entry: string, folder: string, dtype: string, promptTokens: number, newTokens: number, threads: number): Promise<TransformersJsResult> {
  const importStart = performance.now();
  const lib = (await import(pathToFileURL(entry).href)) as Library;
  const importEnd = performance.now();
  const { env, Tensor, AutoModelForCausalLM } = lib;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(folder) + "/";

  const loadStart = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(basename(folder), {
    local_files_only: true, dtype, device: "cpu",
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const vocab = model.config.vocab_size;
  const prompt = randomPrompt(promptTokens, vocab, 1);
  await model.generate({ ...ids(prompt.slice(0, 1), Tensor), ...GREEDY, max_new_tokens: 1 });
  const firstToken = performance.now();
  // Throwaway runs, as `loom bench` warms up: a 16-token prefill, then decode steps in runs of 32
  // until DEFAULT_WARMUP_TOKENS of them or WARMUP_SECONDS have passed (its JavaScript warms up too).
  const warmupPrompt = ids(prompt.slice(0, Math.min(16, promptTokens)), Tensor);
  const warmupEnd = performance.now() + WARMUP_SECONDS * 1000;
  for (let steps = 0; steps < DEFAULT_WARMUP_TOKENS && performance.now() < warmupEnd; steps += 32) {
    await model.generate({ ...warmupPrompt, ...GREEDY, max_new_tokens: 33 });
  }

  const stamps: number[] = [];
  const tokens: number[] = [];
  const streamer = {
    put(value: bigint[][]) {
      stamps.push(performance.now());
      if (stamps.length > 1) tokens.push(Number(value[0][0]));
    },
    end() {},
  };
  const start = performance.now();
  // newTokens + 1: the prefill's own token, then newTokens decode forwards (as `loom bench` does).
  await model.generate({ ...ids(prompt, Tensor), ...GREEDY, max_new_tokens: newTokens + 1, streamer });
  const prefillEnd = stamps[1];
  const decodeEnd = stamps[stamps.length - 1];
  const steps = stamps.length - 2;
  const positions = promptTokens + steps;
  const result: TransformersJsResult = {
    prefill_tps: (promptTokens / (prefillEnd - start)) * 1000,
    decode_tps: steps > 0 ? (steps / (decodeEnd - prefillEnd)) * 1000 : 0,
    load_ms: firstToken - loadStart,
    import_ms: importEnd - importStart,
    peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / 1e6,
    new_tokens: steps,
    kv_mb: (2 * model.config.n_layer * model.config.n_embd * positions * 4) / 1e6,
    threads,
    dtype,
    transformers_version: env.version,
    onnxruntime_version: env.backends?.onnx?.versions?.node ?? env.backends?.onnx?.versions?.common ?? "?",
    tokens,
  };
  await model.dispose();
  return result;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const { values } = parseArgs({
    options: {
      transformers: { type: "string" },
      model: { type: "string" },
      dtype: { type: "string", default: "fp32" },
      "prompt-tokens": { type: "string", default: "128" },
      "new-tokens": { type: "string", default: "128" },
      threads: { type: "string", default: "2" },
    },
  });
  if (!values.transformers || !values.model) throw new Error("--transformers and --model are required");
  const result = await runTransformersJs(values.transformers, values.model, values.dtype!, Number(values["prompt-tokens"]),
    Number(values["new-tokens"]), Number(values.threads));
  console.log(JSON.stringify(result));
  process.exit(0);
}
