/**
 * Added tokens (special or not) are found in the text before the model sees it: leftmost-longest
 * matching over a trie, with the Rust crate's `lstrip` (swallow whitespace before), `rstrip`
 * (swallow whitespace after) and `single_word` (only between non-word characters) rules.
 */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  singleWord: boolean;
}

interface TrieNode {
  next: Map<number, TrieNode>;
  token: AddedToken | undefined;
}

const WHITESPACE_CHAR = /^\p{White_Space}$/u;
const WORD_CHAR = /^[\p{Alphabetic}\p{N}]$/u;

function isWhitespaceAt(text: string, i: number): boolean {
  return WHITESPACE_CHAR.test(text[i]!);
}

function codePointBefore(text: string, end: number): string {
  const c = text.charCodeAt(end - 1);
  return (c & 0xfc00) === 0xdc00 && end >= 2 ? text.slice(end - 2, end) : text.slice(end - 1, end);
}

/** Finds one family of added tokens (the raw ones, or the normalized ones) in a text. */
export class AddedTokenMatcher {
  private readonly root: TrieNode = { next: new Map(), token: undefined };
  /** Finds the next position where some token could start (a class of first code units). */
  private readonly firstUnit: RegExp;
  readonly empty: boolean;

  /** `contents[i]` is the text to look for for `tokens[i]` (normalized tokens match their normalized form). */
  constructor(tokens: readonly AddedToken[], contents: readonly string[]) {
    tokens.forEach((token, i) => {
      const content = contents[i]!;
      if (content.length === 0) return;
      let node = this.root;
      for (let k = 0; k < content.length; k++) {
        const unit = content.charCodeAt(k);
        let child = node.next.get(unit);
        if (!child) {
          child = { next: new Map(), token: undefined };
          node.next.set(unit, child);
        }
        node = child;
      }
      node.token = token;
    });
    this.empty = this.root.next.size === 0;
    const units = [...this.root.next.keys()].map((u) => `\\u${u.toString(16).padStart(4, "0")}`);
    this.firstUnit = new RegExp(`[${units.join("")}]`, "g");
  }

  /**
   * Calls onText for each stretch of ordinary text (with its start offset) and onToken for each
   * added token found, in order. `skip` excludes tokens (e.g. special ones when splitting them).
   */
  split(text: string, onText: (piece: string, start: number) => void, onToken: (token: AddedToken) => void, skip?: (token: AddedToken) => boolean): void {
    if (this.empty) {
      if (text.length > 0) onText(text, 0);
      return;
    }
    const first = this.firstUnit;
    let emitted = 0; // end of what has been handed out
    let i = 0;
    while (i < text.length) {
      first.lastIndex = i;
      if (first.exec(text) === null) break;
      i = first.lastIndex - 1;
      // Longest token starting at i.
      let node: TrieNode | undefined = this.root;
      let match: AddedToken | undefined;
      let matchEnd = i;
      for (let k = i; k < text.length; k++) {
        node = node.next.get(text.charCodeAt(k));
        if (!node) break;
        if (node.token) {
          match = node.token;
          matchEnd = k + 1;
        }
      }
      if (!match) {
        i++;
        continue;
      }
      let start = i;
      let stop = matchEnd;
      i = matchEnd; // the automaton resumes after the match even when it is rejected
      if (skip?.(match)) continue;
      if (match.singleWord) {
        const wordBefore = start > 0 && WORD_CHAR.test(codePointBefore(text, start));
        const wordAfter = stop < text.length && WORD_CHAR.test(String.fromCodePoint(text.codePointAt(stop)!));
        if (wordBefore || wordAfter) continue;
      }
      if (match.lstrip) {
        while (start > emitted && isWhitespaceAt(text, start - 1)) start--;
      }
      if (match.rstrip) {
        while (stop < text.length && isWhitespaceAt(text, stop)) stop++;
        i = stop;
      }
      if (start > emitted) onText(text.slice(emitted, start), emitted);
      onToken(match);
      emitted = stop;
    }
    if (emitted < text.length) onText(emitted === 0 ? text : text.slice(emitted), emitted);
  }
}
