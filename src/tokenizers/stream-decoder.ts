/**
 * Incremental detokenization: decode a short window of recent ids and emit only the text beyond
 * what the window's earlier ids already produced. Text ending in U+FFFD (an incomplete UTF-8
 * sequence) is held back until a later id completes it, so no half character is ever emitted.
 * The window always starts at an earlier token, so context-dependent decoders (a stripped leading
 * space, Metaspace's first-token rule) behave exactly as in a full decode.
 */
import type { StreamDecoder } from "./types.js";

export class WindowStreamDecoder implements StreamDecoder {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly decode: (ids: number[]) => string) {}

  push(id: number): string {
    this.ids.push(id);
    const prefixText = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.ids.slice(this.prefixOffset));
    if (text.length <= prefixText.length || text.endsWith("\ufffd")) return "";
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.compact();
    return text.slice(prefixText.length);
  }

  flush(): string {
    const prefixText = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    this.compact();
    return text.length > prefixText.length ? text.slice(prefixText.length) : "";
  }

  /** Forgets ids that can no longer influence the output. */
  private compact(): void {
    if (this.prefixOffset < 256) return;
    this.ids = this.ids.slice(this.prefixOffset);
    this.readOffset -= this.prefixOffset;
    this.prefixOffset = 0;
  }
}
