/**
 * HF's streamer protocol for people coming from `transformers`: `generate` calls `put` with the prompt
 * ids, then with each new token, then `end`. `TextStreamer` prints the text as it becomes complete.
 */
import type { DecodeOptions, StreamDecoder, Tokenizer } from "../tokenizers/types.js";

export interface Streamer {
  put(ids: readonly number[]): void;
  end(): void;
}

export interface TextStreamerOptions extends DecodeOptions {
  /** Do not print the prompt (HF's skip_prompt). */
  skipPrompt?: boolean;
  /** Where finished text goes; defaults to stdout. `streamEnd` is true on the last call. */
  onText?: (text: string, streamEnd: boolean) => void;
}

export class TextStreamer implements Streamer {
  private decoder: StreamDecoder;
  private sawPrompt = false;
  private readonly onText: (text: string, streamEnd: boolean) => void;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: TextStreamerOptions = {},
  ) {
    this.decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: options.skipSpecialTokens });
    this.onText = options.onText ?? ((text, end) => process.stdout.write(end ? `${text}\n` : text));
  }

  put(ids: readonly number[]): void {
    const isPrompt = !this.sawPrompt;
    this.sawPrompt = true;
    if (isPrompt && this.options.skipPrompt) return;
    let text = "";
    for (const id of ids) text += this.decoder.push(id);
    if (text !== "") this.onText(text, false);
  }

  end(): void {
    this.onText(this.decoder.flush(), true);
    this.decoder = this.tokenizer.createStreamDecoder({ skipSpecialTokens: this.options.skipSpecialTokens });
    this.sawPrompt = false;
  }
}
