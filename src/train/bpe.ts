import { LoomError } from "../errors.js";
import { fromByteChars, pretokenize } from "./byte-level.js";

/**
 * A trained byte-level BPE vocabulary and the trainer's own encoder (used to prepare training data
 * and to check that the written tokenizer.json means the same thing to other readers).
 */
export interface BpeVocab {
  /** Token strings in byte-level characters; the index is the id. */
  tokens: string[];
  /** Merges in rank order, as [left, right] token strings. */
  merges: [string, string][];
  /** Special tokens (e.g. "<|endoftext|>") and their ids; they match whole in the text. */
  specials: Map<string, number>;
}

export class BpeEncoder {
  private readonly ids: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();
  private readonly specialPattern: RegExp | null;

  constructor(readonly vocab: BpeVocab) {
    this.ids = new Map(vocab.tokens.map((t, i) => [t, i]));
    this.ranks = new Map(vocab.merges.map(([a, b], i) => [`${a} ${b}`, i]));
    const specials = [...vocab.specials.keys()].sort((a, b) => b.length - a.length);
    this.specialPattern = specials.length
      ? new RegExp(specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g")
      : null;
  }

  get vocabSize(): number {
    return this.vocab.tokens.length;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    let last = 0;
    if (this.specialPattern) {
      for (const m of text.matchAll(this.specialPattern)) {
        this.encodeOrdinary(text.slice(last, m.index), out);
        out.push(this.vocab.specials.get(m[0])!);
        last = m.index! + m[0].length;
      }
    }
    this.encodeOrdinary(text.slice(last), out);
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const piece of pretokenize(text)) {
      let ids = this.cache.get(piece);
      if (!ids) {
        ids = this.bpe(piece).map((t) => {
          const id = this.ids.get(t);
          if (id === undefined) throw new LoomError(`BPE: token '${t}' is missing from the vocabulary`);
          return id;
        });
        if (this.cache.size < 100_000) this.cache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** GPT-2's rule: repeatedly merge every occurrence of the adjacent pair with the lowest rank. */
  private bpe(piece: string): string[] {
    let symbols = Array.from(piece);
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const left = symbols[best];
      const right = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    return symbols;
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let text = "";
    const flush = (): void => {
      if (parts.length === 0) return;
      text += Buffer.concat(parts).toString("utf8");
      parts.length = 0;
    };
    for (let i = 0; i < ids.length; i++) {
      const token = this.vocab.tokens[ids[i]];
      if (token === undefined) throw new LoomError(`BPE: id ${ids[i]} is outside the vocabulary of ${this.vocab.tokens.length}`);
      if (this.vocab.specials.has(token)) {
        flush();
        text += token;
      } else {
        parts.push(fromByteChars(token));
      }
    }
    flush();
    return text;
  }
}
