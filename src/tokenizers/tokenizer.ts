/**
 * The assembled tokenizer: added tokens → normalizer → pre-tokenizer → model → post-processor on
 * the way in; id → token → decoder chain on the way out. Mirrors the Rust crate's pipeline.
 */
import { LoomError } from "../errors.js";
import { AddedTokenMatcher, type AddedToken } from "./added-tokens.js";
import type { WordModel } from "./bpe.js";
import { renderChatTemplate } from "./chat-template.js";
import { cleanUpTokenizationSpaces, type Decoder } from "./decoders.js";
import type { Normalizer } from "./normalizers.js";
import type { PostProcessor } from "./post-processors.js";
import type { PreTokenizer, PreTokenizerPlan } from "./pre-tokenizers.js";
import { WindowStreamDecoder } from "./stream-decoder.js";
import type { ChatMessage, ChatTemplateOptions, DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from "./types.js";
import { toWellFormed } from "./unicode.js";

/** What tokenizer_config.json (or GGUF metadata) adds around the pipeline. */
export interface TokenizerSettings {
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  chatTemplate?: string;
  /** transformers' clean_up_tokenization_spaces default for decode. */
  cleanUpTokenizationSpaces: boolean;
  /** transformers' split_special_tokens default for encode. */
  splitSpecialTokens?: boolean;
  /** Named special tokens handed to the chat template (bos_token, eos_token, …). */
  templateTokens: Record<string, unknown>;
}

export interface TokenizerParts {
  model: WordModel;
  /** The model's own vocabulary (added tokens come separately). */
  modelVocab: ReadonlyMap<string, number>;
  addedTokens: readonly AddedToken[];
  normalizer: Normalizer | undefined;
  preTokenizer: PreTokenizerPlan;
  postProcessor: PostProcessor | undefined;
  decoder: Decoder | undefined;
  settings: TokenizerSettings;
}

export class LoomTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  readonly settings: TokenizerSettings;

  private readonly model: WordModel;
  private readonly modelVocab: ReadonlyMap<string, number>;
  private readonly idToTokenTable: (string | undefined)[];
  private readonly addedByContent = new Map<string, number>();
  private readonly specialIds = new Set<number>();
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly normalizer: Normalizer | undefined;
  private readonly preTokenize: PreTokenizer | undefined;
  private readonly postProcessor: PostProcessor | undefined;
  private readonly decoder: Decoder | undefined;
  /** Where emitWord appends; set for the duration of one encode (JS is single-threaded). */
  private sink: number[] = [];
  private readonly emitWord: (text: string, start: number, end: number) => void;

  constructor(parts: TokenizerParts) {
    this.model = parts.model;
    this.modelVocab = parts.modelVocab;
    this.normalizer = parts.normalizer;
    this.preTokenize = parts.preTokenizer.preTokenize;
    this.postProcessor = parts.postProcessor;
    this.decoder = parts.decoder;
    this.settings = parts.settings;
    this.emitWord = parts.preTokenizer.byteLevelPieces
      ? (text, start, end) => this.model.encodeByteLevelWord(text, start, end, this.sink)
      : (text, start, end) => this.model.encodeWord(text, start, end, this.sink);

    let size = 0;
    for (const id of parts.modelVocab.values()) size = Math.max(size, id + 1);
    for (const token of parts.addedTokens) size = Math.max(size, token.id + 1);
    this.idToTokenTable = new Array<string | undefined>(size);
    for (const [token, id] of parts.modelVocab) this.idToTokenTable[id] = token;
    const raw: AddedToken[] = [];
    const normalized: AddedToken[] = [];
    for (const token of parts.addedTokens) {
      this.idToTokenTable[token.id] = token.content;
      this.addedByContent.set(token.content, token.id);
      if (token.special) this.specialIds.add(token.id);
      (token.normalized ? normalized : raw).push(token);
    }
    this.rawMatcher = new AddedTokenMatcher(raw, raw.map((t) => t.content));
    this.normalizedMatcher = new AddedTokenMatcher(
      normalized,
      normalized.map((t) => (this.normalizer ? this.normalizer(t.content) : t.content)),
    );
    this.vocabSize = size;
    this.bosTokenId = this.idOf(parts.settings.bosToken);
    this.eosTokenId = this.idOf(parts.settings.eosToken);
    this.padTokenId = this.idOf(parts.settings.padToken);
  }

  private idOf(token: string | undefined): number | undefined {
    return token === undefined ? undefined : this.tokenToId(token);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const skip = (options.splitSpecialTokens ?? this.settings.splitSpecialTokens) ? (token: AddedToken) => token.special : undefined;
    const pushToken = (token: AddedToken) => out.push(token.id);
    this.rawMatcher.split(
      toWellFormed(text),
      (section, start) => {
        const normalized = this.normalizer ? this.normalizer(section) : section;
        this.normalizedMatcher.split(normalized, (piece, pieceStart) => this.encodeWords(piece, start === 0 && pieceStart === 0, out), pushToken, skip);
      },
      pushToken,
      skip,
    );
    return this.postProcessor ? this.postProcessor(out, options.addSpecialTokens ?? true) : out;
  }

  private encodeWords(text: string, atStart: boolean, out: number[]): void {
    const previous = this.sink;
    this.sink = out;
    try {
      if (this.preTokenize) this.preTokenize(text, 0, text.length, atStart, this.emitWord);
      else this.emitWord(text, 0, text.length);
    } finally {
      this.sink = previous;
    }
  }

  /** The vocabulary pieces of a text (HF's `tokenize`), without added special tokens by default. */
  tokenize(text: string, options: EncodeOptions = { addSpecialTokens: false }): string[] {
    return this.encode(text, options).map((id) => this.idToToken(id)!);
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const token = this.idToToken(id);
      // Like the Rust crate, ids outside the vocabulary are dropped rather than failing.
      if (token === undefined || (skip && this.specialIds.has(id))) continue;
      tokens.push(token);
    }
    let text = this.decoder ? this.decoder(tokens).join("") : tokens.join(" ");
    if (options.cleanUpTokenizationSpaces ?? this.settings.cleanUpTokenizationSpaces) text = cleanUpTokenizationSpaces(text);
    return text;
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.idToTokenTable[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.modelVocab.get(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const decodeOptions: DecodeOptions = { ...options, cleanUpTokenizationSpaces: false };
    return new WindowStreamDecoder((ids) => this.decode(ids, decodeOptions));
  }

  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    const template = this.settings.chatTemplate;
    if (template === undefined) throw new LoomError("this tokenizer has no chat template (tokenizer_config.json chat_template or GGUF tokenizer.chat_template)");
    return renderChatTemplate(template, {
      ...this.settings.templateTokens,
      ...options.extraContext,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  }
}
