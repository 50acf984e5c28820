import type { CausalLM } from "../../src/models/types.js";

/** Logits for every position from one full-sequence forward. */
export async function fullForward(model: CausalLM, tokens: number[]): Promise<Float32Array> {
  return model.forward(tokens, 0, model.createCache(), { logits: "all" });
}

/**
 * Logits for every position, fed in chunks (a prefill of chunks[0] tokens, then the rest in the
 * given sizes; 1 = one token at a time), each chunk asking only for its rows' logits.
 */
export async function chunkedForward(model: CausalLM, tokens: number[], chunks: number[]): Promise<Float32Array> {
  const vocab = model.config.vocabSize;
  const out = new Float32Array(tokens.length * vocab);
  const cache = model.createCache();
  let pos = 0;
  for (const size of chunks) {
    const part = tokens.slice(pos, pos + size);
    const logits = await model.forward(part, pos, cache, { logits: size === 1 ? "last" : "all" });
    out.set(logits, pos * vocab);
    pos += size;
  }
  if (pos !== tokens.length) throw new Error("chunks do not cover the tokens");
  return out;
}

export function argmaxRows(logits: Float32Array, vocab: number): number[] {
  const ids: number[] = [];
  for (let r = 0; r < logits.length / vocab; r++) {
    let best = 0;
    for (let i = 1; i < vocab; i++) if (logits[r * vocab + i] > logits[r * vocab + best]) best = i;
    ids.push(best);
  }
  return ids;
}

export function tokenSequence(length: number, vocab: number, seed: number): number[] {
  let a = seed;
  return Array.from({ length }, () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % vocab;
  });
}
