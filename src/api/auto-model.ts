/**
 * `AutoModelForCausalLM.fromPretrained` and the model object it returns: a CausalLM with HF's
 * `generate` (sequences, prompt included), `stream`, its config, its generation defaults
 * (generation_config.json, editable as `model.generationConfig`) and its tokenizer attached.
 */
import { loadModel, type EngineOptions, type LoadedModel } from "../engine.js";
import { LoomError } from "../errors.js";
import { generate } from "../generation/generate.js";
import {
  GENERATION_CONFIG_KEYS,
  fromGenerationConfig,
  type GenerationOptions,
} from "../generation/options.js";
import type { FinishReason } from "../generation/stopping.js";
import { stream, type GenerationStep } from "../generation/stream.js";
import type { CacheOptions, CausalLM, ForwardOptions, KVCache, ModelConfig } from "../models/types.js";
import type { Tokenizer } from "../tokenizers/types.js";

export type AutoModelOptions = EngineOptions;

export interface StreamOptions extends GenerationOptions {
  /** Used instead of the model's own tokenizer (for stop strings and the text of each step). */
  tokenizer?: Tokenizer;
}

export interface ModelGenerateOptions extends StreamOptions {
  /**
   * HF's return_dict_in_generate: resolve to a {@link GenerateOutput} instead of the bare sequences.
   * Beam search then also reports `sequencesScores`.
   */
  returnDictInGenerate?: boolean;
}

/** What `generate(..., { returnDictInGenerate: true })` resolves to (HF's GenerateOutput, camelCased). */
export interface GenerateOutput {
  /** One row per returned sequence, prompt included, padded as HF pads a batch. */
  sequences: number[][];
  /** Beam search only: HF's sequences_scores (length-penalised sum of log-probabilities). */
  sequencesScores?: number[];
  /** Loom's own: why each row stopped ("eos", "stop" or "length"). */
  finishReasons: FinishReason[];
  /** Loom's own: each row's generated tokens, without prompt or padding. */
  newTokens: number[][];
}

const TO_CONFIG_KEY = new Map(Object.entries(GENERATION_CONFIG_KEYS).map(([key, name]) => [name as string, key]));

/**
 * Splits the editable generation defaults into what generation_config.json can express (merged
 * where HF merges it) and Loom-only settings (seed, skipSpecialTokens…), applied under the call's.
 */
function splitDefaults(defaults: GenerationOptions): { fileJson: Record<string, unknown>; callDefaults: GenerationOptions } {
  const fileJson: Record<string, unknown> = {};
  const callDefaults: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(defaults)) {
    if (value === undefined) continue;
    const key = TO_CONFIG_KEY.get(name);
    if (key) fileJson[key] = value;
    else callDefaults[name] = value;
  }
  return { fileJson, callDefaults: callDefaults as GenerationOptions };
}

function rejectScoresOption(options: object): void {
  if ("outputScores" in options || "output_scores" in options) {
    throw new LoomError(
      "outputScores is not supported: per-step scores are not returned. With returnDictInGenerate: true, beam search " +
        "reports sequencesScores; stream() yields each token's logprob.",
    );
  }
}

/** A loaded causal LM, HF style. It is itself a CausalLM, so it works with every generation function. */
export class PreTrainedModel implements CausalLM {
  readonly config: ModelConfig;
  /** The folder or file it was loaded from. */
  readonly path: string;
  /** Generation defaults (from generation_config.json); edit them like HF's model.generation_config. */
  generationConfig: GenerationOptions;
  /** The checkpoint's tokenizer, when it has one; stop strings and streamed text use it. */
  tokenizer?: Tokenizer;

  constructor(
    /** The architecture's model underneath. */
    readonly model: CausalLM,
    info: { path: string; generationConfig?: unknown; tokenizer?: Tokenizer },
  ) {
    this.config = model.config;
    this.path = info.path;
    this.generationConfig = fromGenerationConfig(info.generationConfig, `${info.path}: generation_config.json`);
    this.tokenizer = info.tokenizer;
  }

  static fromLoaded({ model, tokenizer }: LoadedModel): PreTrainedModel {
    return new PreTrainedModel(model, { path: model.path, generationConfig: model.generationConfig, tokenizer });
  }

  createCache(options?: CacheOptions): KVCache {
    return this.model.createCache(options);
  }

  forward(tokens: ArrayLike<number>, startPos: number, cache: KVCache, options?: ForwardOptions): Promise<Float32Array> {
    return this.model.forward(tokens, startPos, cache, options);
  }

  /** HF's `model(input_ids).logits`: one row of vocabSize logits per prompt position. */
  async logits(inputIds: readonly number[]): Promise<Float32Array[]> {
    const all = await this.model.forward(inputIds, 0, this.model.createCache(), { logits: "all" });
    const vocab = this.config.vocabSize;
    return inputIds.map((_, i) => all.slice(i * vocab, (i + 1) * vocab));
  }

  /**
   * HF's `model.generate`. Options merge as HF defaults ← generationConfig ← this call. Resolves to
   * the sequences (prompt included, one row per returned sequence), or with `returnDictInGenerate`
   * to a {@link GenerateOutput}.
   */
  generate(inputIds: number[] | number[][], options?: ModelGenerateOptions & { returnDictInGenerate?: false }): Promise<number[][]>;
  generate(inputIds: number[] | number[][], options: ModelGenerateOptions & { returnDictInGenerate: true }): Promise<GenerateOutput>;
  generate(inputIds: number[] | number[][], options?: ModelGenerateOptions): Promise<number[][] | GenerateOutput>;
  async generate(inputIds: number[] | number[][], options: ModelGenerateOptions = {}): Promise<number[][] | GenerateOutput> {
    rejectScoresOption(options ?? {});
    const { returnDictInGenerate, tokenizer, ...call } = options ?? {};
    const { view, callDefaults } = this.withDefaults();
    const result = await generate(view, inputIds, { ...callDefaults, ...call }, tokenizer ?? this.tokenizer);
    if (!returnDictInGenerate) return result.sequences;
    const output: GenerateOutput = { sequences: result.sequences, finishReasons: result.finishReasons, newTokens: result.newTokens };
    if (result.scores) output.sequencesScores = result.scores;
    return output;
  }

  /** Token by token: `for await (const step of model.stream(ids, { maxNewTokens: 20 })) write(step.text)`. */
  stream(inputIds: number[], options: StreamOptions = {}): AsyncGenerator<GenerationStep> {
    rejectScoresOption(options ?? {});
    const { tokenizer, ...call } = options ?? {};
    const { view, callDefaults } = this.withDefaults();
    return stream(view, inputIds, { ...callDefaults, ...call }, tokenizer ?? this.tokenizer);
  }

  dispose(): void {
    this.model.dispose?.();
  }

  /** The model as generation sees it: these defaults in the role of generation_config.json. */
  private withDefaults(): { view: CausalLM & { generationConfig: unknown }; callDefaults: GenerationOptions } {
    const { fileJson, callDefaults } = splitDefaults(this.generationConfig ?? {});
    const model = this.model;
    const view = {
      config: model.config,
      createCache: (options?: CacheOptions) => model.createCache(options),
      forward: (tokens: ArrayLike<number>, startPos: number, cache: KVCache, options?: ForwardOptions) =>
        model.forward(tokens, startPos, cache, options),
      generationConfig: fileJson,
    };
    return { view, callDefaults };
  }
}

export const AutoModelForCausalLM = {
  /**
   * `await AutoModelForCausalLM.fromPretrained("gpt2")`: an HF folder (config.json + safetensors),
   * a .gguf file or a hub id; with no argument, Loom's bundled model.
   */
  async fromPretrained(idOrPath?: string, options: AutoModelOptions = {}): Promise<PreTrainedModel> {
    return PreTrainedModel.fromLoaded(await loadModel(idOrPath, options));
  },
};
