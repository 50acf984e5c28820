/**
 * llama.cpp through node-llama-cpp, measured like `loom bench` (same prompt ids, greedy decoding,
 * the same clock points), in its own process so its load is cold and its peak RSS its own.
 * llama.cpp's settings are node-llama-cpp's defaults (F16 KV cache, flash attention "auto").
 *   node dist/bench/llama-binding.js --model FILE.gguf [--prompt-tokens 128] [--new-tokens 128] [--threads 2]
 * prints one JSON object (LlamaBindingResult) as its last line.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_WARMUP_TOKENS, randomPrompt, WARMUP_SECONDS } from "../src/cli/bench.js";

export interface LlamaBindingResult {
  prefill_tps: number;
  decode_tps: number;
  load_ms: number;
  peak_rss_mb: number;
  new_tokens: number;
  threads: number;
  context_size: number;
  flash_attention: boolean | string;
}

export async function measureBinding(model: string, promptTokens: number, newTokens: number, threads: number): Promise<LlamaBindingResult> {
  process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
  const loadStart = performance.now();
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  const loaded = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
  const vocab = loaded.fileInfo.tensorInfo?.find((t) => t.name === "token_embd.weight")?.dimensions[1];
  const prompt = randomPrompt(promptTokens, Number(vocab), 1) as never[];
  const context = await loaded.createContext({ contextSize: promptTokens + newTokens, batchSize: promptTokens, sequences: 1, threads });
  const sequence = context.getSequence();
  // The first token's logits, as `loom bench` measures load.
  await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 1));
  const firstToken = performance.now();
  await sequence.clearHistory();
  // Throwaway decode steps, as `loom bench` warms up (up to DEFAULT_WARMUP_TOKENS or WARMUP_SECONDS).
  const warmupSteps = Math.min(DEFAULT_WARMUP_TOKENS, context.contextSize - 16);
  const warmupEnd = performance.now() + WARMUP_SECONDS * 1000;
  let warmed = 0;
  for await (const token of sequence.evaluate(prompt.slice(0, 16), { temperature: 0, yieldEogToken: true })) {
    void token;
    if (++warmed >= warmupSteps || performance.now() > warmupEnd) break;
  }
  await sequence.clearHistory();

  // The first token out of evaluate() closes the prefill; each one after it is one decode step.
  const start = performance.now();
  let prefillEnd = start;
  let steps = -1;
  for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
    void token;
    if (steps < 0) prefillEnd = performance.now();
    steps++;
    if (steps >= newTokens) break;
  }
  const decodeEnd = performance.now();
  const result: LlamaBindingResult = {
    prefill_tps: (promptTokens / (prefillEnd - start)) * 1000,
    decode_tps: steps > 0 ? (steps / (decodeEnd - prefillEnd)) * 1000 : 0,
    load_ms: firstToken - loadStart,
    peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / 1e6,
    new_tokens: steps,
    threads: context.currentThreads,
    context_size: context.contextSize,
    flash_attention: context.flashAttention,
  };
  await context.dispose();
  await loaded.dispose();
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      "prompt-tokens": { type: "string", default: "128" },
      "new-tokens": { type: "string", default: "128" },
      threads: { type: "string", default: "2" },
    },
  });
  if (!values.model) throw new Error("--model is required");
  const result = await measureBinding(values.model, Number(values["prompt-tokens"]), Number(values["new-tokens"]), Number(values.threads));
  console.log(JSON.stringify(result));
  process.exit(0);
}
