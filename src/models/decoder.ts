/**
 * The forward pass the Llama family and Gemma 3 share: a decoder of pre-norm blocks — RMSNorm,
 * rotary self-attention, residual add; RMSNorm, gated MLP, residual add — then a final RMSNorm and
 * the LM head. Gemma 3's extras are options: the embedding scaled by √nEmbd, a norm on each
 * sublayer's output before its residual add, and a soft-cap on the logits. The family files read
 * configs and name tables and build the blocks; this class runs them.
 */
import { AttentionScratch, type SelfAttention } from "../nn/attention.js";
import type { Embedding } from "../nn/embedding.js";
import type { Matrix } from "../nn/matrix.js";
import type { MLP } from "../nn/mlp.js";
import { ModelKVCache } from "../nn/model-kv-cache.js";
import type { RMSNorm } from "../nn/norms.js";
import type { Ops } from "../nn/ops.js";
import type { RotaryEmbedding } from "../nn/rope.js";
import { Activations } from "./activations.js";
import { checkForward, DEFAULT_PREFILL_CHUNK, forwardInChunks, prefillChunkOf } from "./forward-checks.js";
import { layerWindows, type AttentionLayerType } from "./layer-types.js";
import type { CacheOptions, CausalLM, ForwardOptions, KVCache, ModelConfig, TraceFn } from "./types.js";

export interface DecoderConfig extends ModelConfig {
  layerTypes: AttentionLayerType[];
  slidingWindow?: number;
}

export interface DecoderBlock {
  attnNorm: RMSNorm;
  attn: SelfAttention;
  /** Gemma 3: normalises the attention output before the residual add. */
  postAttnNorm?: RMSNorm;
  ffnNorm: RMSNorm;
  mlp: MLP;
  /** Gemma 3: normalises the MLP output before the residual add. */
  postFFNorm?: RMSNorm;
}

export interface DecoderParts {
  embedding: Embedding;
  blocks: DecoderBlock[];
  outputNorm: RMSNorm;
  head: Matrix;
  /** Every rotary table the blocks use (Gemma 3 has a global and a local one). */
  ropes: RotaryEmbedding[];
  ops: Ops;
  /** Multiplies the embeddings (Gemma 3: √nEmbd as an f32). */
  embedScale?: number;
  /** logits ← cap · tanh(logits / cap). */
  finalSoftCap?: number;
}

export class DecoderModel<C extends DecoderConfig> implements CausalLM {
  private readonly activations: Activations;
  private readonly attnScratch: AttentionScratch;
  private readonly windows: (number | undefined)[];

  constructor(readonly config: C, private readonly parts: DecoderParts) {
    const { ops } = parts;
    this.attnScratch = new AttentionScratch({ nHeads: config.numHeads, nKVHeads: config.numKVHeads, headDim: config.headDim }, undefined, ops);
    this.activations = new Activations(ops, config.hiddenSize, config.intermediateSize, true);
    this.windows = layerWindows(config.layerTypes, config.slidingWindow);
  }

  createCache(options: CacheOptions = {}): ModelKVCache {
    const c = this.config;
    return new ModelKVCache(this.windows, c.numKVHeads * c.headDim, c.maxPositions, {
      windowed: options.windowed, headroom: DEFAULT_PREFILL_CHUNK, memory: this.parts.ops,
    });
  }

  async forward(tokens: ArrayLike<number>, startPos: number, kvCache: KVCache, options: ForwardOptions = {}): Promise<Float32Array> {
    const cache = checkForward(this.config, tokens, startPos, kvCache);
    const n = tokens.length;
    for (const rope of this.parts.ropes) rope.setSequenceLength(startPos + n);
    return forwardInChunks(cache, startPos, n, prefillChunkOf(options.prefillChunk), options.logits ?? "last", this.config.vocabSize,
      (from, to, logits) => this.forwardChunk(Array.prototype.slice.call(tokens, from, to), startPos + from, cache, logits, options.trace),
      options.logitsOut);
  }

  /** Pushes tokens at startPos.. through every layer; writes the logits of the last `rows` of them. */
  private forwardChunk(tokens: number[], startPos: number, cache: ModelKVCache, logits: Float32Array, trace?: TraceFn): void {
    const { hiddenSize: d, vocabSize } = this.config;
    const { embedding, blocks, outputNorm, head, ops, embedScale, finalSoftCap } = this.parts;
    const n = tokens.length;
    const rows = logits.length / vocabSize; // tokens whose logits are wanted (the last ones)
    const { x, xb, xb2, h1, h2 } = this.activations.ensure(n);

    embedding.forward(x, tokens); // (n, nEmbd)
    if (embedScale !== undefined) for (let i = 0; i < n * d; i++) x[i] *= embedScale;
    trace?.("embd", -1, x.subarray(0, n * d));

    for (let l = 0; l < blocks.length; l++) {
      const b = blocks[l];
      b.attnNorm.forward(xb, x, n); // (n, nEmbd)
      b.attn.forward(xb2, xb, n, startPos, cache, l, this.attnScratch, trace); // (n, nEmbd)
      b.postAttnNorm?.forward(xb2, xb2, n);
      ops.add(x, x, xb2, n * d);
      trace?.("attn_residual", l, x.subarray(0, n * d));
      b.ffnNorm.forward(xb, x, n);
      b.mlp.forward(xb2, xb, n, h1, h2); // (n, nEmbd)
      b.postFFNorm?.forward(xb2, xb2, n);
      ops.add(x, x, xb2, n * d);
      trace?.("l_out", l, x.subarray(0, n * d));
    }
    if (rows === 0) return;

    // Final norm and LM head only for the rows that need logits.
    outputNorm.forward(xb, x.subarray((n - rows) * d, n * d), rows); // (rows, nEmbd)
    trace?.("result_norm", -1, xb.subarray(0, rows * d));
    head.matmul(logits, xb, rows); // (rows, vocab)
    if (finalSoftCap !== undefined) {
      for (let i = 0; i < logits.length; i++) logits[i] = finalSoftCap * Math.tanh(logits[i] / finalSoftCap);
    }
  }
}
