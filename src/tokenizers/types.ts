/** The face of a tokenizer that generation, the API and the CLI rely on. */

export interface EncodeOptions {
  /** Add BOS/EOS etc. as the tokenizer's post-processor says (default true, as in HF). */
  addSpecialTokens?: boolean;
  /**
   * Treat special-token strings found in the text as plain text (HF's `split_special_tokens`),
   * so user text cannot inject control tokens. Default false, as in HF.
   */
  splitSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /**
   * transformers' `clean_up_tokenization_spaces` (" ." → "." etc.). Defaults to the value in
   * tokenizer_config.json, or false. Stream decoders never clean up.
   */
  cleanUpTokenizationSpaces?: boolean;
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** Turns a stream of ids into text deltas, holding back incomplete UTF-8 sequences. */
export interface StreamDecoder {
  /** Returns the new text made complete by this id (possibly ""). */
  push(id: number): string;
  /** Returns whatever is still held back (replacement characters for broken bytes). */
  flush(): string;
}

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. `tools`, `enable_thinking`), passed as they are. */
  extraContext?: Record<string, unknown>;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  isSpecial(id: number): boolean;
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
  /** Renders the chat template from tokenizer_config.json (or GGUF metadata). */
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): string;
}
