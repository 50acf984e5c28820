/**
 * `pipeline("text-generation", model)`: prompt text (or a chat) in, `[{ generated_text }]` out, with
 * the semantics of transformers' TextGenerationPipeline: the full text (prompt included) by default,
 * only the new text with `returnFullText: false`, chats rendered through the chat template and
 * answered with the conversation plus the assistant's reply.
 */
import type { EngineOptions } from "../engine.js";
import { LoomError } from "../errors.js";
import { OPTION_NAMES, type GenerationOptions } from "../generation/options.js";
import type { ChatMessage, Tokenizer } from "../tokenizers/types.js";
import { AutoTokenizer } from "./auto-tokenizer.js";
import { AutoModelForCausalLM, PreTrainedModel } from "./auto-model.js";

export const SUPPORTED_TASKS = ["text-generation"] as const;
export type Task = (typeof SUPPORTED_TASKS)[number];

/** Per-call settings: every generation option, plus how the pipeline prepares and reports text. */
export interface TextGenerationCallOptions extends GenerationOptions {
  /** Prompt included in generated_text (default true); false gives only the new text. */
  returnFullText?: boolean;
  /** Report `generated_token_ids` (prompt and new tokens) instead of text. */
  returnTensors?: boolean;
  /** Whether text prompts get the tokenizer's BOS/EOS (default: the tokenizer's own default, as HF). */
  addSpecialTokens?: boolean;
  /** transformers' clean_up_tokenization_spaces for the decoded text. */
  cleanUpTokenizationSpaces?: boolean;
}

/** Load settings, plus call settings that become this pipeline's defaults (as in HF). */
export interface PipelineOptions extends EngineOptions, TextGenerationCallOptions {
  /** A tokenizer, or where to load one from; default: the model's own. */
  tokenizer?: Tokenizer | string;
}

export interface GeneratedText {
  generated_text: string;
}
export interface GeneratedChat {
  /** The conversation followed by the assistant's reply. */
  generated_text: ChatMessage[];
}
export interface GeneratedIds {
  generated_token_ids: number[];
}
export type PipelineOutput = GeneratedText | GeneratedChat | GeneratedIds;
export type PipelineInput = string | string[] | ChatMessage[] | ChatMessage[][];

type TextOptions = TextGenerationCallOptions & { returnTensors?: false };
type ChatOptions = TextGenerationCallOptions & { returnTensors?: false; returnFullText?: true };

export interface TextGenerationPipeline {
  (input: string, options?: TextOptions): Promise<GeneratedText[]>;
  (input: string[], options?: TextOptions): Promise<GeneratedText[][]>;
  (input: ChatMessage[], options?: ChatOptions): Promise<GeneratedChat[]>;
  (input: ChatMessage[][], options?: ChatOptions): Promise<GeneratedChat[][]>;
  (input: PipelineInput, options?: TextGenerationCallOptions): Promise<PipelineOutput[] | PipelineOutput[][]>;
  readonly task: Task;
  readonly model: PreTrainedModel;
  readonly tokenizer: Tokenizer;
  dispose(): void;
}

const PIPELINE_CALL_KEYS = ["returnFullText", "returnTensors", "addSpecialTokens", "cleanUpTokenizationSpaces"];
const CALL_KEYS = new Set<string>([...OPTION_NAMES, ...PIPELINE_CALL_KEYS]);
const LOAD_KEYS = new Set<string>([
  "revision", "cacheDir", "endpoint", "token", "offline", "onProgress", "timeoutMs", "maxRetries", "retryDelayMs", "threads",
  "tokenizer",
]);
// HF's pipeline gives text generation 256 new tokens when neither the call nor the model sets a length.
const PIPELINE_MAX_NEW_TOKENS = 256;

function splitPipelineOptions(options: PipelineOptions): { load: EngineOptions & { tokenizer?: Tokenizer | string }; defaults: TextGenerationCallOptions } {
  const load: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (LOAD_KEYS.has(key)) load[key] = value;
    else if (CALL_KEYS.has(key)) defaults[key] = value;
    else {
      throw new LoomError(
        `unknown pipeline option "${key}"; load options: ${[...LOAD_KEYS].join(", ")}; ` +
          `call options: ${[...CALL_KEYS].join(", ")}`,
      );
    }
  }
  return { load, defaults };
}

/** The call's options minus the pipeline's own, i.e. what goes to generate. */
function generationOptionsOf(options: TextGenerationCallOptions): GenerationOptions {
  const generation: Record<string, unknown> = { ...options };
  for (const key of PIPELINE_CALL_KEYS) delete generation[key];
  return generation as GenerationOptions;
}

function isChatMessage(value: unknown): value is ChatMessage {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "role" in value;
}

function checkChat(messages: unknown[], where: string): ChatMessage[] {
  messages.forEach((m, i) => {
    const message = m as { role?: unknown; content?: unknown };
    if (!isChatMessage(m) || typeof message.role !== "string" || typeof message.content !== "string") {
      throw new LoomError(`${where}, message ${i}: each chat message must be an object with string "role" and "content"`);
    }
  });
  return messages as ChatMessage[];
}

type Prompt = { kind: "text"; text: string } | { kind: "chat"; messages: ChatMessage[] };

/** One prompt or a batch, told apart as HF does: a list whose first item is a message or a list is chat. */
function parseInput(input: unknown): { prompts: Prompt[]; batched: boolean } {
  if (typeof input === "string") return { prompts: [{ kind: "text", text: input }], batched: false };
  if (!Array.isArray(input) || input.length === 0) {
    throw new LoomError("text-generation input must be a string, a chat (array of {role, content}), or a non-empty array of either");
  }
  if (isChatMessage(input[0])) return { prompts: [{ kind: "chat", messages: checkChat(input, "chat") }], batched: false };
  const prompts = input.map((item: unknown, i): Prompt => {
    if (typeof item === "string") return { kind: "text", text: item };
    if (Array.isArray(item) && item.length > 0) return { kind: "chat", messages: checkChat(item, `chat ${i}`) };
    throw new LoomError(`text-generation input ${i} must be a string or a non-empty chat, got ${Array.isArray(item) ? "an empty array" : typeof item}`);
  });
  return { prompts, batched: true };
}

class TextGeneration {
  constructor(
    readonly model: PreTrainedModel,
    readonly tokenizer: Tokenizer,
    private readonly defaults: TextGenerationCallOptions,
  ) {}

  async run(input: unknown, callOptions: TextGenerationCallOptions = {}): Promise<PipelineOutput[] | PipelineOutput[][]> {
    for (const key of Object.keys(callOptions ?? {})) {
      if (!CALL_KEYS.has(key)) throw new LoomError(`unknown text-generation option "${key}"; valid options: ${[...CALL_KEYS].join(", ")}`);
    }
    const options = { ...this.defaults, ...callOptions };
    if (options.returnTensors && options.returnFullText !== undefined) {
      throw new LoomError("returnFullText is mutually exclusive with returnTensors");
    }
    const { prompts, batched } = parseInput(input);
    const outputs: PipelineOutput[][] = [];
    // One prompt at a time, as HF's pipeline does with its default batch size of 1.
    for (const prompt of prompts) outputs.push(await this.complete(prompt, options));
    return batched ? outputs : outputs[0];
  }

  private encode(prompt: Prompt, options: TextGenerationCallOptions): number[] {
    const ids =
      prompt.kind === "text"
        ? this.tokenizer.encode(prompt.text, { addSpecialTokens: options.addSpecialTokens })
        : // The rendered template already holds its special tokens.
          this.tokenizer.encode(this.tokenizer.applyChatTemplate(prompt.messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
    if (ids.length > 0) return ids;
    // HF starts an empty prompt from the BOS token.
    const bos = this.model.config.bosTokenId ?? this.tokenizer.bosTokenId;
    if (bos === undefined) throw new LoomError("the prompt is empty and the model has no BOS token to start from");
    return [bos];
  }

  private async complete(prompt: Prompt, options: TextGenerationCallOptions): Promise<PipelineOutput[]> {
    const { returnFullText, returnTensors, cleanUpTokenizationSpaces } = options;
    const generation = generationOptionsOf(options);
    const ids = this.encode(prompt, options);
    const out = await this.model.generate(ids, {
      ...this.lengthDefault(generation, ids.length),
      ...generation,
      tokenizer: this.tokenizer,
      returnDictInGenerate: true,
    });
    const decode = (tokens: number[]) => this.tokenizer.decode(tokens, { skipSpecialTokens: true, cleanUpTokenizationSpaces });
    // HF decodes prompt + new tokens and cuts the decoded prompt's length, so merged text stays whole.
    const promptText = decode(ids);
    return out.newTokens.map((tokens): PipelineOutput => {
      const sequence = [...ids, ...tokens];
      if (returnTensors) return { generated_token_ids: sequence };
      const newText = decode(sequence).slice(promptText.length);
      if (returnFullText === false) return { generated_text: newText };
      if (prompt.kind === "text") return { generated_text: prompt.text + newText };
      return { generated_text: [...prompt.messages, { role: "assistant", content: newText }] };
    });
  }

  /** HF's pipeline default of 256 new tokens, when nothing sets a length (kept within the model's positions). */
  private lengthDefault(call: GenerationOptions, promptLength: number): GenerationOptions {
    const fromModel = this.model.generationConfig;
    const set = [call.maxLength, call.maxNewTokens, fromModel.maxLength, fromModel.maxNewTokens].some((v) => v !== undefined);
    if (set) return {};
    const room = this.model.config.maxPositions - promptLength;
    return { maxNewTokens: room > 0 ? Math.min(PIPELINE_MAX_NEW_TOKENS, room) : PIPELINE_MAX_NEW_TOKENS };
  }
}

/**
 * `const pipe = await pipeline("text-generation", "gpt2"); await pipe("Hello", { maxNewTokens: 20 })`.
 * `model` is an HF folder, a .gguf file, a hub id or a loaded model; by default Loom's bundled model.
 */
export async function pipeline(task: Task, model?: string | PreTrainedModel, options: PipelineOptions = {}): Promise<TextGenerationPipeline> {
  if (!(SUPPORTED_TASKS as readonly string[]).includes(task)) {
    throw new LoomError(`unknown pipeline task ${JSON.stringify(task)}; Loom supports: ${SUPPORTED_TASKS.join(", ")}`);
  }
  const { load, defaults } = splitPipelineOptions(options ?? {});
  const { tokenizer: tokenizerOption, ...engineOptions } = load;
  const loaded = model instanceof PreTrainedModel ? model : await AutoModelForCausalLM.fromPretrained(model, engineOptions);
  const tokenizer =
    typeof tokenizerOption === "string" ? await AutoTokenizer.fromPretrained(tokenizerOption, engineOptions) : (tokenizerOption ?? loaded.tokenizer);
  if (!tokenizer) {
    throw new LoomError(
      `${loaded.path} has no tokenizer, and the text-generation pipeline turns text into ids: pass { tokenizer } ` +
        `(a Tokenizer, or a folder / tokenizer.json / hub id), or call model.generate with token ids`,
    );
  }
  const runner = new TextGeneration(loaded, tokenizer, defaults);
  const call = (input: PipelineInput, callOptions?: TextGenerationCallOptions) => runner.run(input, callOptions);
  return Object.assign(call, {
    task,
    model: loaded,
    tokenizer,
    dispose: () => loaded.dispose(),
  }) as unknown as TextGenerationPipeline;
}
