/**
 * The one decoding loop for greedy and sampled generation: an async generator of steps that
 * `generate`, the CLI, the server and the playground all consume.
 */
import { LoomError } from "../errors.js";
import type { CausalLM, KVCache } from "../models/types.js";
import type { StreamDecoder, Tokenizer } from "../tokenizers/types.js";
import { createCandidates, loadScores } from "./candidates.js";
import { forwardOne, logSoftmaxAt, normalizePrompts, optionSources, prefill, requireTokenizerForStops, throwIfAborted } from "./inputs.js";
import { selectingChain } from "./logits-chain.js";
import { lengthBudget, resolveGenerationOptions, type GenerationOptions, type ResolvedGenerationOptions } from "./options.js";
import { createRng, deriveSeed, randomSeed, type Rng } from "./rng.js";
import { StopStringMatcher, type FinishReason } from "./stopping.js";

export interface GenerationStep {
  /** The token chosen at this step. */
  token: number;
  /** The text this token completed (never half a UTF-8 character; "" without a tokenizer). */
  text: string;
  /** The model's log-probability of the token: log softmax of the raw logits, before any processor. */
  logprob: number;
  /** Set on the last step only. */
  finishReason?: FinishReason;
}

export interface RowRun {
  model: CausalLM;
  prompt: readonly number[];
  options: ResolvedGenerationOptions;
  maxNewTokens: number;
  /** Total length (prompt and padding included) below which EOS is banned. */
  minLength: number;
  /** Left padding this row would carry in HF's batch. */
  padding: number;
  rng: Rng;
  tokenizer?: Tokenizer;
  /** A cache already holding the prompt, and its last logits (copies of one prompt share a prefill). */
  prefilled?: { cache: KVCache; logits: Float32Array };
}

/** The step with `logprob` as an enumerable getter (JSON and spreads still see a number). */
function withLogprob(step: Omit<GenerationStep, "logprob">, source: { readonly logprob: number }): GenerationStep {
  return Object.defineProperty(step, "logprob", { get: () => source.logprob, enumerable: true }) as GenerationStep;
}

/** Decodes one sequence step by step until EOS, a stop string or the length limit. */
export async function* decodeRow(run: RowRun): AsyncGenerator<GenerationStep> {
  const { model, prompt, options: o, tokenizer } = run;
  throwIfAborted(o.signal);
  const { cache, logits: first } = run.prefilled ?? (await prefill(model, prompt));
  let logits = first;
  const sampler = selectingChain(o, { promptLength: prompt.length, padding: run.padding, minLength: run.minLength }, run.rng);
  sampler.acceptAll(prompt);
  const eos = new Set(o.eosTokenIds);
  const candidates = createCandidates(model.config.vocabSize);
  const text = tokenizer ? new TextTracker(tokenizer, o) : undefined;

  try {
    for (let generated = 1; ; generated++) {
      throwIfAborted(o.signal);
      loadScores(candidates, logits);
      sampler.apply(candidates);
      if (candidates.selected < 0) throw new LoomError("the sampler chain ended without choosing a token");
      const token = candidates.ids[candidates.selected];
      sampler.accept(token);
      // The log-probability costs an exp per vocabulary entry: computed when someone reads it.
      const stepLogits = logits;
      let logprob: number | undefined;
      const lazy = { get logprob(): number { return (logprob ??= logSoftmaxAt(stepLogits, token)); } };

      const { delta, stopped } = text ? text.push(token) : { delta: "", stopped: false };
      const finishReason: FinishReason | undefined = eos.has(token)
        ? "eos"
        : stopped
          ? "stop"
          : generated >= run.maxNewTokens
            ? "length"
            : undefined;
      if (finishReason) {
        yield withLogprob({ token, text: text ? text.finish(delta, stopped) : "", finishReason }, lazy);
        return;
      }
      yield withLogprob({ token, text: delta }, lazy);
      throwIfAborted(o.signal); // the consumer may have aborted while holding this step
      logits = await forwardOne(model, token, cache);
    }
  } finally {
    cache.release?.(); // this row owns its cache (copies of one prompt each get their own)
  }
}

/**
 * Text deltas for the stream, plus stop-string detection on the text with special tokens kept
 * (HF matches stop strings against token strings, specials included).
 */
class TextTracker {
  private readonly shown: StreamDecoder;
  private readonly watched?: StreamDecoder;
  private readonly matcher: StopStringMatcher;
  private excess = 0;
  private lastWasSpecial = false;

  constructor(
    private readonly tokenizer: Tokenizer,
    o: ResolvedGenerationOptions,
  ) {
    this.shown = tokenizer.createStreamDecoder({ skipSpecialTokens: o.skipSpecialTokens });
    this.matcher = new StopStringMatcher(o.stopStrings);
    if (o.stopStrings.length > 0) {
      this.watched = o.skipSpecialTokens ? tokenizer.createStreamDecoder({ skipSpecialTokens: false }) : undefined;
    }
  }

  push(token: number): { delta: string; stopped: boolean } {
    const delta = this.shown.push(token);
    if (this.matcher.stopStrings.length === 0) return { delta, stopped: false };
    this.lastWasSpecial = this.tokenizer.isSpecial(token);
    const watchedDelta = this.watched ? this.watched.push(token) : delta;
    this.excess = this.matcher.push(watchedDelta);
    return { delta, stopped: this.excess >= 0 };
  }

  /** The last delta plus anything held back, cut right after the stop string when one matched. */
  finish(delta: string, stopped: boolean): string {
    const full = delta + this.shown.flush();
    // The characters after the stop string came from this last token; a skipped special token shows none.
    if (!stopped || this.excess <= 0 || this.lastWasSpecial) return full;
    return full.slice(0, Math.max(0, full.length - this.excess));
  }
}

/**
 * Streams one prompt: `for await (const step of stream(model, ids, { maxNewTokens: 20 }, tokenizer))`.
 * Greedy or sampled (beam search has no meaningful token-by-token stream, as in HF).
 */
export async function* stream(
  model: CausalLM,
  inputIds: number[],
  options: GenerationOptions = {},
  tokenizer?: Tokenizer,
): AsyncGenerator<GenerationStep> {
  const o = resolveGenerationOptions(options, optionSources(model, tokenizer));
  if (o.numBeams > 1) throw new LoomError("stream() cannot be used with beam search (numBeams > 1); use generate()");
  if (o.numReturnSequences > 1) throw new LoomError("stream() yields one sequence; use generate() for numReturnSequences > 1");
  const prompts = normalizePrompts(inputIds, model.config.vocabSize, o.attentionMask);
  if (prompts.length !== 1) throw new LoomError(`stream() takes one prompt, got ${prompts.length}; use generate() for batches`);
  requireTokenizerForStops(o, tokenizer);
  const [prompt] = prompts;
  const budget = lengthBudget(o, prompt.length, model.config.maxPositions);
  const rng = createRng(deriveSeed(o.seed ?? randomSeed(), 0));
  o.streamer?.put(prompt);
  for await (const step of decodeRow({ model, prompt, options: o, ...budget, padding: 0, rng, tokenizer })) {
    o.streamer?.put([step.token]);
    yield step;
  }
  o.streamer?.end();
}
