/**
 * Stopping criteria. A sequence ends with reason "eos" (it produced an end-of-sequence id), "stop"
 * (its text now contains a stop string) or "length" (it reached maxLength / maxNewTokens).
 *
 * Stop strings, Loom's rule (HF's StopStringCriteria is a subset of it): generation stops at the
 * first token after which the generated text, decoded with special tokens kept, contains a stop
 * string. The token stays in the ids (as in HF, ids are never cut); the streamed text ends right
 * after the stop string, dropping whatever else that last token spelled. When the token ends exactly
 * with the stop string (HF's only case), the two agree exactly. Text of the prompt is not searched.
 */
import type { Tokenizer } from "../tokenizers/types.js";

export type FinishReason = "length" | "eos" | "stop";

/** Watches text as it grows and reports the first stop string to appear. */
export class StopStringMatcher {
  private tail = "";
  private readonly longest: number;

  constructor(readonly stopStrings: readonly string[]) {
    this.longest = Math.max(0, ...stopStrings.map((s) => s.length));
  }

  /**
   * Adds `delta` to the text seen so far. Returns -1, or how many characters of the text follow
   * the earliest-ending stop string (0 when the text now ends exactly with it).
   */
  push(delta: string): number {
    if (this.stopStrings.length === 0 || delta === "") return -1;
    const window = this.tail + delta;
    let earliestEnd = Infinity;
    for (const stop of this.stopStrings) {
      // Any new match must end inside `delta`, so it starts at most `longest - 1` chars before it.
      const at = window.indexOf(stop);
      if (at >= 0) earliestEnd = Math.min(earliestEnd, at + stop.length);
    }
    this.tail = window.slice(Math.max(0, window.length - (this.longest - 1)));
    return earliestEnd === Infinity ? -1 : window.length - earliestEnd;
  }
}

/** Whether the text of `generated` ids contains a stop string (beam candidates are checked whole). */
export function containsStopString(tokenizer: Tokenizer, generated: readonly number[], stopStrings: readonly string[]): boolean {
  if (stopStrings.length === 0 || generated.length === 0) return false;
  const text = tokenizer.decode(generated, { skipSpecialTokens: false });
  return stopStrings.some((s) => text.includes(s));
}
