/**
 * Greedy continuations with top-5 log-probabilities, from llama.cpp (node-llama-cpp's prebuilt CPU
 * binaries; F32 KV cache and flash attention off, so only accumulation order and llama.cpp's own
 * approximations remain) and from a Loom model, in one shape so tests can compare them step by step.
 */
import { writeGGUF } from "../../src/weights/gguf-write.js";
import type { CausalLM } from "../../src/models/types.js";
import type { Tensors } from "../models/fixtures.js";
import { toWrite } from "../models/fixtures.js";
import type { GGUFMetaEntry } from "../../src/weights/gguf-format.js";
import type { Llama } from "node-llama-cpp";

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";

export interface Step {
  /** The greedy token chosen at this step. */
  token: number;
  /** The five most likely next tokens, most likely first. */
  top: { id: number; logprob: number }[];
}

let llama: Promise<Llama> | undefined;

async function getLlama(): Promise<Llama> {
  const { getLlama: load, LlamaLogLevel } = await import("node-llama-cpp");
  llama ??= load({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  return llama;
}

export function writeModelFile(path: string, metadata: GGUFMetaEntry[], tensors: Tensors): void {
  writeGGUF(path, { metadata, tensors: toWrite(tensors) });
}

/** llama.cpp's greedy continuation of `prompt` for `steps` tokens (fewer if it stops at an end token). */
export async function llamaCppGreedy(path: string, prompt: number[], steps: number, contextSize: number): Promise<Step[]> {
  const model = await (await getLlama()).loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize, batchSize: 512, flashAttention: false, threads: 2,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  try {
    const sequence = context.getSequence();
    const out: Step[] = [];
    const tokens = prompt as Parameters<typeof sequence.evaluateWithMetadata>[0];
    for await (const step of sequence.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 0, yieldEogToken: true })) {
      const top = [...step.probabilities.entries()].slice(0, 5).map(([id, p]) => ({ id: Number(id), logprob: Math.log(p) }));
      out.push({ token: Number(step.token), top });
      if (out.length >= steps) break;
    }
    return out;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** Loom's greedy continuation: prefill the prompt (in chunks), then decode one token at a time. */
export async function loomGreedy(model: CausalLM, prompt: number[], steps: number): Promise<Step[]> {
  const cache = model.createCache();
  const out: Step[] = [];
  let logits = await model.forward(prompt, 0, cache);
  for (let s = 0; s < steps; s++) {
    const step = topFive(logits);
    out.push(step);
    if (s + 1 < steps) logits = await model.forward([step.token], prompt.length + s, cache);
  }
  return out;
}

/** Log-softmax in double precision; the greedy token and the five best. */
function topFive(logits: Float32Array): Step {
  let max = -Infinity;
  for (const z of logits) max = Math.max(max, z);
  let sum = 0;
  for (const z of logits) sum += Math.exp(z - max);
  const logZ = max + Math.log(sum);
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  return { token: ids[0], top: ids.map((id) => ({ id, logprob: logits[id] - logZ })) };
}

export interface Agreement {
  steps: number;
  sameTokens: boolean;
  /** Max |Δ log-prob| over the top-5 ids both sides list, every step. */
  maxLogprobDiff: number;
  /** Steps whose top-5 id sets differ (near-ties can swap the 5th). */
  topSetMismatches: number;
}

export function compareSteps(ours: Step[], theirs: Step[]): Agreement {
  const steps = Math.min(ours.length, theirs.length);
  let maxLogprobDiff = 0, topSetMismatches = 0, sameTokens = true;
  for (let s = 0; s < steps; s++) {
    if (ours[s].token !== theirs[s].token) sameTokens = false;
    const mine = new Map(ours[s].top.map((e) => [e.id, e.logprob]));
    let shared = 0;
    for (const e of theirs[s].top) {
      const lp = mine.get(e.id);
      if (lp === undefined) continue;
      shared++;
      maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(lp - e.logprob));
    }
    if (shared < 5) topSetMismatches++;
  }
  return { steps, sameTokens, maxLogprobDiff, topSetMismatches };
}
