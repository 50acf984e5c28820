/**
 * Small stand-ins for the model and tokenizer contracts, so generation is tested on its own.
 * FakeModel's logits depend only on the last `order` tokens *held in the cache*, so a cache that was
 * forked or mutated wrongly shows up as wrong logits.
 */
import type { CausalLM, ForwardOptions, KVCache, ModelConfig } from "../../src/models/types.js";
import type { DecodeOptions, StreamDecoder, Tokenizer } from "../../src/tokenizers/types.js";

export class FakeCache implements KVCache {
  constructor(public tokens: number[] = []) {}
  get length(): number {
    return this.tokens.length;
  }
  clone(): FakeCache {
    return new FakeCache(this.tokens.slice());
  }
  truncate(length: number): void {
    this.tokens.length = Math.min(length, this.tokens.length);
  }
}

/** A 32-bit integer hash of several integers, mapped to [0, 1). */
function hashUnit(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v + 0x9e3779b9), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return (h >>> 0) / 4294967296;
}

export interface FakeModelOptions {
  vocabSize: number;
  /** How many previous tokens the next-token logits depend on. */
  order?: number;
  seed?: number;
  /** Logits are uniform in [-scale, scale]. */
  scale?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  /** Added to the logit of every EOS id. */
  eosBias?: number;
  maxPositions?: number;
}

export class FakeModel implements CausalLM {
  readonly config: ModelConfig;
  forwardCalls = 0;
  generationConfig?: unknown;
  private readonly eos: Set<number>;

  constructor(private readonly o: FakeModelOptions) {
    this.config = {
      architecture: "fake",
      vocabSize: o.vocabSize,
      hiddenSize: 1,
      numLayers: 1,
      numHeads: 1,
      numKVHeads: 1,
      headDim: 1,
      intermediateSize: 1,
      maxPositions: o.maxPositions ?? 4096,
      eosTokenId: o.eosTokenId,
      padTokenId: o.padTokenId,
    };
    this.eos = new Set(o.eosTokenId === undefined ? [] : Array.isArray(o.eosTokenId) ? o.eosTokenId : [o.eosTokenId]);
  }

  createCache(): FakeCache {
    return new FakeCache();
  }

  /** The next-token logits after `context` (the slow, cache-free way tests use as a reference). */
  logitsAfter(context: readonly number[]): Float32Array {
    const order = this.o.order ?? 2;
    const key: number[] = [];
    for (let i = 0; i < order; i++) key.push(context[context.length - 1 - i] ?? -1);
    const out = new Float32Array(this.o.vocabSize);
    const scale = this.o.scale ?? 3;
    for (let t = 0; t < out.length; t++) {
      out[t] = scale * (2 * hashUnit(this.o.seed ?? 1, t, ...key) - 1) + (this.eos.has(t) ? (this.o.eosBias ?? 0) : 0);
    }
    return out;
  }

  async forward(tokens: ArrayLike<number>, startPos: number, cache: KVCache, options: ForwardOptions = {}): Promise<Float32Array> {
    const c = cache as FakeCache;
    if (c.length !== startPos) throw new Error(`fake model: cache holds ${c.length} positions, startPos is ${startPos}`);
    this.forwardCalls++;
    const rows: Float32Array[] = [];
    for (let i = 0; i < tokens.length; i++) {
      c.tokens.push(tokens[i]);
      if (options.logits === "all" || i === tokens.length - 1) rows.push(this.logitsAfter(c.tokens));
    }
    const out = new Float32Array(rows.length * this.o.vocabSize);
    rows.forEach((r, i) => out.set(r, i * this.o.vocabSize));
    return out;
  }
}

/** A model that (greedily) spells out `script` after any prompt of `promptLength` tokens. */
export class ScriptedModel extends FakeModel {
  constructor(
    vocabSize: number,
    private readonly promptLength: number,
    private readonly script: readonly number[],
    eosTokenId?: number,
  ) {
    super({ vocabSize, eosTokenId, scale: 1 });
  }
  override logitsAfter(context: readonly number[]): Float32Array {
    const out = super.logitsAfter(context);
    const next = this.script[context.length - this.promptLength];
    if (next !== undefined) out[next] += 20;
    return out;
  }
}

/** A tokenizer whose tokens are byte strings; some are fragments of multi-byte UTF-8 characters. */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize: number;
  private readonly bytes: Uint8Array[];

  constructor(
    pieces: (string | number[])[],
    private readonly specials: ReadonlySet<number> = new Set(),
    readonly eosTokenId?: number,
    readonly padTokenId?: number,
  ) {
    this.bytes = pieces.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : Uint8Array.from(p)));
    this.vocabSize = pieces.length;
  }

  private bytesOf(ids: ArrayLike<number>, options?: DecodeOptions): Uint8Array {
    const parts: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (options?.skipSpecialTokens && this.specials.has(ids[i])) continue;
      parts.push(...this.bytes[ids[i]]);
    }
    return Uint8Array.from(parts);
  }

  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    return new TextDecoder().decode(this.bytesOf(ids, options));
  }

  createStreamDecoder(options?: DecodeOptions): StreamDecoder {
    const decoder = new TextDecoder();
    return {
      push: (id) => decoder.decode(this.bytesOf([id], options), { stream: true }),
      flush: () => decoder.decode(),
    };
  }

  encode(text: string): number[] {
    // Greedy longest match over the string pieces (enough for tests).
    const ids: number[] = [];
    let rest = text;
    while (rest.length > 0) {
      let best = -1;
      let bestLength = 0;
      this.bytes.forEach((_, id) => {
        const piece = this.decode([id]);
        if (piece.length > bestLength && rest.startsWith(piece) && !piece.includes("\uFFFD")) [best, bestLength] = [id, piece.length];
      });
      if (best < 0) throw new Error(`cannot encode ${JSON.stringify(rest)}`);
      ids.push(best);
      rest = rest.slice(bestLength);
    }
    return ids;
  }

  idToToken(id: number): string | undefined {
    return id < this.vocabSize ? this.decode([id]) : undefined;
  }
  tokenToId(token: string): number | undefined {
    for (let id = 0; id < this.vocabSize; id++) if (this.decode([id]) === token) return id;
    return undefined;
  }
  isSpecial(id: number): boolean {
    return this.specials.has(id);
  }
  applyChatTemplate(): string {
    throw new Error("no chat template in the fake tokenizer");
  }
}

/** log softmax, the slow obvious way (float64). */
export function logSoftmaxSlow(logits: ArrayLike<number>): number[] {
  const xs = Array.from(logits);
  const max = Math.max(...xs);
  const lse = max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
  return xs.map((x) => x - lse);
}

/** Collects an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
