/** The face of a tokenizer that generation, the API and the CLI rely on. */

export interface EncodeOptions {
  /** Add BOS/EOS etc. as the tokenizer's post-processor says (default true, as in HF). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
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
  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
}
