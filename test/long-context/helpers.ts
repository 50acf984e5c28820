/**
 * Tiny seeded models with room for thousands of positions, long prompts, and greedy decoding that
 * states its prefill chunk — the reference for "chunked prefill gives the one-shot result".
 */
import type { CausalLM, KVCache } from "../../src/models/types.js";
import type { Spec } from "../families/fixtures.js";
import { rng } from "../kernels/random.js";

/** Llama: two global layers, GQA. Small heads keep a 3,000-token prefill well under a second or two. */
export const LLAMA_LONG: Spec = {
  family: "llama", vocab: 97, hidden: 32, layers: 2, heads: 2, kvHeads: 1, headDim: 16, ff: 48,
  maxPositions: 4096, eps: 1e-5, theta: 10000, tied: false,
};

/** Gemma 3: a sliding layer (window 128, a rotating cache) and a global one, local and global RoPE bases. */
export const GEMMA3_LONG: Spec = {
  family: "gemma3", vocab: 97, hidden: 32, layers: 2, heads: 2, kvHeads: 1, headDim: 16, ff: 48,
  maxPositions: 4096, eps: 1e-6, theta: 1_000_000, localTheta: 10000, window: 128,
  layerTypes: ["sliding_attention", "full_attention"], tied: true,
};

/** The fixtures' config.json says eos_token_id 2 (test/families/fixtures.ts hfConfig). */
export const EOS = 2;

export function longPrompt(length: number, vocab: number, seed: number): number[] {
  const random = rng(seed);
  // Ids from 3 up: no BOS/EOS inside the prompt.
  return Array.from({ length }, () => 3 + Math.floor(random() * (vocab - 3)));
}

export interface GreedyRun {
  /** Generated ids; the last is EOS when the model chose it before maxNewTokens. */
  ids: number[];
  /** Logits (vocab) that chose each generated id: the prompt's last row, then each decode step's. */
  logits: Float32Array[];
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Greedy decoding by hand: prefill with the given chunk (undefined = the model's default), then one token per call. */
export async function greedyRun(model: CausalLM, prompt: number[], maxNewTokens: number, prefillChunk?: number): Promise<GreedyRun> {
  const cache: KVCache = model.createCache();
  let logits = await model.forward(prompt, 0, cache, { prefillChunk });
  const run: GreedyRun = { ids: [], logits: [] };
  for (let pos = prompt.length; ; pos++) {
    const next = argmax(logits);
    run.ids.push(next);
    run.logits.push(logits);
    if (next === EOS || run.ids.length === maxNewTokens) return run;
    logits = await model.forward([next], pos, cache);
  }
}
