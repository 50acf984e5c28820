/**
 * llama.cpp as an oracle, through node-llama-cpp's prebuilt CPU binaries.
 *
 * Reference settings: an F32 KV cache (its default is F16) and flash attention off, so the only
 * differences left are accumulation order and llama.cpp's own approximations (the GELU table, f16
 * activations for F16 weights, Q8_0 activations for quantized weights).
 *
 * Getting the top-5 log-probabilities cheaply. With temperature 0 node-llama-cpp's sampler chain is
 * llama.cpp's greedy sampler alone, and its `probabilities` are a plain f32 softmax of the untouched
 * logits of the whole vocabulary — but handing 50257 of them to JavaScript costs ~45 ms a step.
 * So `greedy` runs twice over the same tokens (the logits are deterministic):
 *   1. temperature 0 with `confidence`: the greedy token and its probability p₀ over the whole
 *      vocabulary (a softmax the addon computes in C++);
 *   2. the same tokens fed back one by one, with a chain that only keeps the 5 highest logits
 *      (top-k 5; top-p 1 and min-p 0 are no-ops in llama.cpp; temperature 1 leaves logits as they
 *      are): its `probabilities` are a softmax over those 5, so log pᵢ − log p₀ = ℓᵢ − ℓ₀.
 * Together: logprobᵢ = log p₀ + (log pᵢ − log p₀)₅. `greedyWholeVocabulary` is the slow direct way;
 * a test checks that the two agree, which is also the check that `probabilities` is a plain softmax.
 *
 * End of generation: with `yieldEogToken: false` (node-llama-cpp's default) generation silently
 * stops at an EOS/EOT token; with `true` the token is yielded and evaluation simply continues with
 * it in the context, which is what a plain greedy loop (Loom's) does, so that is what we use.
 */
import type { Llama, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";

let llamaPromise: Promise<Llama> | undefined;

export async function getLlamaCpp(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  llamaPromise ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  return llamaPromise;
}

export interface OracleStep {
  /** The greedy choice. */
  token: number;
  /** The five most likely next tokens with their log-probabilities, most likely first. */
  top: { id: number; logprob: number }[];
}

export interface OracleModel {
  /** Rows of the file's token_embd: the size every full-vocabulary softmax must have. */
  readonly vocabSize: number;
  /** Greedy continuation of `promptIds` for `newTokens` steps, with each step's top 5. */
  greedy(promptIds: readonly number[], newTokens: number): Promise<OracleStep[]>;
  /** The same from whole-vocabulary `probabilities` (slow: ~45 ms a step), with sanity checks. */
  greedyWholeVocabulary(promptIds: readonly number[], newTokens: number): Promise<OracleStep[]>;
  dispose(): Promise<void>;
}

const TOP = 5;

export async function openLlamaCpp(modelPath: string, contextSize = 512): Promise<OracleModel> {
  const llama = await getLlamaCpp();
  const model: LlamaModel = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const embd = model.fileInfo.tensorInfo?.find((t) => t.name === "token_embd.weight");
  const vocabSize = Number(embd?.dimensions[1]);

  /** Runs `body` on a fresh sequence: nothing of an earlier run can linger in the cache. */
  async function withSequence<T>(body: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
    const context = await model.createContext({
      contextSize,
      batchSize: contextSize,
      sequences: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
      threads: 1, // more threads than free cores only spin on this machine
    });
    try {
      return await body(context.getSequence());
    } finally {
      await context.dispose();
    }
  }

  async function greedy(promptIds: readonly number[], newTokens: number): Promise<OracleStep[]> {
    // Pass 1: greedy tokens and each one's probability over the whole vocabulary.
    const chosen = await withSequence(async (sequence) => {
      const steps: { token: number; confidence: number }[] = [];
      const run = sequence.evaluateWithMetadata(promptIds as Token[], { confidence: true }, { temperature: 0, yieldEogToken: true });
      for await (const out of run) {
        steps.push({ token: Number(out.token), confidence: out.confidence });
        if (steps.length >= newTokens) break;
      }
      return steps;
    });
    // Pass 2: the same tokens fed back, keeping only the top 5 logits.
    return withSequence(async (sequence) => {
      const steps: OracleStep[] = [];
      const run = sequence.evaluateWithMetadata(promptIds as Token[], { probabilities: true }, {
        temperature: 1, topK: TOP, topP: 1, minP: 0, seed: 1, yieldEogToken: true,
      });
      try {
        let out = await run.next();
        for (let i = 0; i < chosen.length; i++) {
          if (out.done) throw new Error(`llama.cpp stopped after ${i} of ${chosen.length} steps`);
          const top5 = [...out.value.probabilities.entries()];
          const { token, confidence } = chosen[i];
          if (top5.length !== TOP || Number(top5[0][0]) !== token) {
            throw new Error(`llama.cpp step ${i}: the top-${TOP} pass saw [${top5.map(([id]) => id)}] but greedy chose ${token}`);
          }
          const logP0 = Math.log(confidence), logTop = Math.log(top5[0][1]);
          steps.push({ token, top: top5.map(([id, p]) => ({ id: Number(id), logprob: logP0 + Math.log(p) - logTop })) });
          if (i + 1 < chosen.length) out = await run.next(token as Token);
        }
      } finally {
        await run.return();
      }
      return steps;
    });
  }

  async function greedyWholeVocabulary(promptIds: readonly number[], newTokens: number): Promise<OracleStep[]> {
    return withSequence(async (sequence) => {
      const steps: OracleStep[] = [];
      const run = sequence.evaluateWithMetadata(promptIds as Token[], { probabilities: true }, { temperature: 0, yieldEogToken: true });
      for await (const out of run) {
        steps.push(checkedSoftmaxStep(out.token, out.probabilities, steps.length, vocabSize));
        if (steps.length >= newTokens) break;
      }
      return steps;
    });
  }

  return {
    vocabSize,
    greedy,
    greedyWholeVocabulary,
    async dispose() {
      await model.dispose();
    },
  };
}

/** The step's top 5, after checking that the probabilities are a softmax over the whole vocabulary. */
function checkedSoftmaxStep(token: Token, probabilities: Map<Token, number>, step: number, vocabSize: number): OracleStep {
  const where = `llama.cpp step ${step}`;
  if (probabilities.size !== vocabSize) {
    throw new Error(`${where}: ${probabilities.size} candidates, expected the whole vocabulary (${vocabSize}): a sampler truncated them`);
  }
  let sum = 0;
  for (const p of probabilities.values()) sum += p;
  if (Math.abs(sum - 1) > 1e-3) throw new Error(`${where}: probabilities sum to ${sum}`);
  const top = [...probabilities.entries()].slice(0, TOP).map(([id, p]) => ({ id: Number(id), logprob: Math.log(p) }));
  if (top[0].id !== Number(token)) throw new Error(`${where}: greedy chose ${token} but the most likely token is ${top[0].id}`);
  return { token: Number(token), top };
}
