/**
 * `generate`: HF's `model.generate` for one prompt or a batch. Greedy and sampled rows consume the
 * same step generator as `stream`; beam search runs its own module. Each row runs with its own cache,
 * which is what HF's left-padded batch computes (position ids from the attention mask); the length
 * limits count the padded prompt length, as HF's do. One deliberate difference: HF's repetition
 * penalty and no-repeat-ngram also see the pad ids of a padded row (so with pad = EOS, EOS gets
 * penalised in shorter rows); Loom's processors see only the row's real tokens.
 * Sampling seeds: row i (prompt-major, numReturnSequences copies per prompt) draws from its own
 * stream derived from `seed`, and row 0 draws exactly what `stream` draws for that seed.
 */
import { LoomError } from "../errors.js";
import type { CausalLM } from "../models/types.js";
import type { Tokenizer } from "../tokenizers/types.js";
import { beamSearch } from "./beam.js";
import { normalizePrompts, optionSources, prefill, requireTokenizerForStops } from "./inputs.js";
import { lengthBudget, resolveGenerationOptions, type GenerationOptions, type ResolvedGenerationOptions } from "./options.js";
import { createRng, deriveSeed, randomSeed } from "./rng.js";
import type { FinishReason } from "./stopping.js";
import { decodeRow } from "./stream.js";

export interface GenerateResult {
  /**
   * One row per returned sequence (prompt-major: numReturnSequences rows per prompt), each the
   * prompt followed by the generated tokens. In a batch, prompts are left-padded to the longest and
   * rows that finished early are right-padded, with padTokenId, so every row has the same length.
   */
  sequences: number[][];
  /** Beam search only: HF's sequences_scores (length-penalised sums of log-probabilities). */
  scores?: number[];
  finishReasons: FinishReason[];
  /** Generated tokens per row, without padding. */
  newTokens: number[][];
}

interface RowOutput {
  prompt: number;
  tokens: number[];
  reason: FinishReason;
  score?: number;
}

export async function generate(
  model: CausalLM,
  inputIds: number[] | number[][],
  options: GenerationOptions = {},
  tokenizer?: Tokenizer,
): Promise<GenerateResult> {
  const o = resolveGenerationOptions(options, optionSources(model, tokenizer));
  const prompts = normalizePrompts(inputIds, model.config.vocabSize, o.attentionMask);
  requireTokenizerForStops(o, tokenizer);
  const paddedLength = Math.max(...prompts.map((p) => p.length));
  const budget = lengthBudget(o, paddedLength, model.config.maxPositions);
  const copies = o.numBeams > 1 ? 1 : o.numReturnSequences;
  if (o.streamer && (prompts.length > 1 || copies > 1 || o.numBeams > 1)) {
    throw new LoomError("a streamer follows exactly one sequence: one prompt, numReturnSequences 1, numBeams 1");
  }
  const seed = o.seed ?? randomSeed();

  const rows: RowOutput[] = [];
  for (let p = 0; p < prompts.length; p++) {
    const prompt = prompts[p];
    const shape = { ...budget, padding: paddedLength - prompt.length };
    if (o.numBeams > 1) {
      const run = { model, prompt, options: o, ...shape, rng: createRng(deriveSeed(seed, p)), tokenizer };
      for (const h of await beamSearch(run)) rows.push({ prompt: p, tokens: h.tokens, reason: h.finishReason, score: h.score });
      continue;
    }
    // Copies of one prompt share its prefill: each continues from a clone of the cache.
    const shared = copies > 1 ? await prefill(model, prompt) : undefined;
    for (let c = 0; c < copies; c++) {
      const prefilled = shared && { cache: c === copies - 1 ? shared.cache : shared.cache.clone(), logits: shared.logits };
      const rng = createRng(deriveSeed(seed, p * copies + c));
      o.streamer?.put(prompt);
      const tokens: number[] = [];
      let reason: FinishReason = "length";
      for await (const step of decodeRow({ model, prompt, options: o, ...shape, rng, tokenizer, prefilled })) {
        o.streamer?.put([step.token]);
        tokens.push(step.token);
        if (step.finishReason) reason = step.finishReason;
      }
      o.streamer?.end();
      rows.push({ prompt: p, tokens, reason });
    }
  }
  return assemble(rows, prompts, o);
}

function assemble(rows: RowOutput[], prompts: number[][], o: ResolvedGenerationOptions): GenerateResult {
  const paddedLength = Math.max(...prompts.map((p) => p.length));
  const longest = Math.max(...rows.map((r) => r.tokens.length));
  const pad = (): number => {
    if (o.padTokenId === undefined) {
      throw new LoomError("rows of different lengths need padding, but neither padTokenId nor eosTokenId is known; set padTokenId");
    }
    return o.padTokenId;
  };
  const sequences = rows.map((r) => {
    const prompt = prompts[r.prompt];
    const left = paddedLength - prompt.length;
    const right = longest - r.tokens.length;
    const fill = left + right > 0 ? pad() : 0;
    return [...Array<number>(left).fill(fill), ...prompt, ...r.tokens, ...Array<number>(right).fill(fill)];
  });
  const result: GenerateResult = {
    sequences,
    finishReasons: rows.map((r) => r.reason),
    newTokens: rows.map((r) => r.tokens),
  };
  if (o.numBeams > 1) result.scores = rows.map((r) => r.score ?? 0);
  return result;
}
