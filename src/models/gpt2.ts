/**
 * GPT-2: learned token and position embeddings, pre-norm blocks of
 *   x += attn(LayerNorm(x));  x += mlp(LayerNorm(x))      with mlp = c_proj(gelu_new(c_fc(x)))
 * then a final LayerNorm and an LM head tied to the token embedding.
 *
 * Reads HF checkpoints (Conv1D weights stored (in, out), fused c_attn) and GGUF `gpt2` files
 * (llama.cpp's converter transposes them to (out, in) like nn.Linear).
 */
import { LoomError } from "../errors.js";
import { AttentionScratch, SelfAttention } from "../nn/attention.js";
import { Embedding } from "../nn/embedding.js";
import { ModelKVCache } from "../nn/model-kv-cache.js";
import type { Matrix } from "../nn/matrix.js";
import { GeluMLP } from "../nn/mlp.js";
import { LayerNorm } from "../nn/norms.js";
import type { Ops } from "../nn/ops.js";
import { Activations } from "./activations.js";
import type { WeightSource } from "../weights/source.js";
import { ConfigFields, firstId, type JsonObject } from "./fields.js";
import { checkForward, forwardInChunks, prefillChunkOf } from "./forward-checks.js";
import { ggufVocabSize, TensorLoader, type WeightOptions } from "./tensor-loader.js";
import type { CausalLM, ForwardOptions, KVCache, ModelConfig, TraceFn } from "./types.js";

export interface GPT2Config extends ModelConfig {
  architecture: "gpt2";
  layerNormEps: number;
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** From an HF config.json (GPT2Config field names, with its defaults where HF has them). */
export function gpt2ConfigFromHF(json: JsonObject, origin: string): GPT2Config {
  const f = ConfigFields.fromJson(json, origin);
  const activation = f.string("activation_function", "gelu_new");
  if (activation !== "gelu_new" && activation !== "gelu_pytorch_tanh") {
    throw new LoomError(`${origin}: activation_function "${activation}" is not supported (gelu_new, gelu_pytorch_tanh)`);
  }
  if (f.boolean("scale_attn_by_inverse_layer_idx", false)) {
    throw new LoomError(`${origin}: scale_attn_by_inverse_layer_idx is not supported`);
  }
  const hiddenSize = f.int(["n_embd", "hidden_size"]);
  const numHeads = f.int(["n_head", "num_attention_heads"]);
  return {
    architecture: "gpt2",
    vocabSize: f.int("vocab_size"),
    hiddenSize,
    numLayers: f.int(["n_layer", "num_hidden_layers"]),
    numHeads,
    numKVHeads: numHeads,
    headDim: headDimOf(hiddenSize, numHeads, origin),
    intermediateSize: f.int("n_inner", 4 * hiddenSize),
    maxPositions: f.int(["n_positions", "n_ctx", "max_position_embeddings"]),
    layerNormEps: f.number("layer_norm_epsilon", 1e-5),
    bosTokenId: firstId(f.ids("bos_token_id")),
    eosTokenId: f.ids("eos_token_id"),
    padTokenId: firstId(f.ids("pad_token_id")),
  };
}

/** From GGUF metadata (`gpt2.*` keys); the vocabulary size is token_embd's row count. */
export function gpt2ConfigFromGGUF(source: WeightSource): GPT2Config {
  const f = ConfigFields.fromMetadata(source.metadata, source.origin);
  const hiddenSize = f.int("gpt2.embedding_length");
  const numHeads = f.int("gpt2.attention.head_count");
  return {
    architecture: "gpt2",
    vocabSize: ggufVocabSize(source, hiddenSize),
    hiddenSize,
    numLayers: f.int("gpt2.block_count"),
    numHeads,
    numKVHeads: numHeads,
    headDim: headDimOf(hiddenSize, numHeads, source.origin),
    intermediateSize: f.int("gpt2.feed_forward_length", 4 * hiddenSize),
    maxPositions: f.int("gpt2.context_length"),
    layerNormEps: f.number("gpt2.attention.layer_norm_epsilon", 1e-5),
    bosTokenId: firstId(f.ids("tokenizer.ggml.bos_token_id")),
    eosTokenId: f.ids("tokenizer.ggml.eos_token_id"),
    padTokenId: firstId(f.ids("tokenizer.ggml.padding_token_id")),
  };
}

function headDimOf(hiddenSize: number, numHeads: number, origin: string): number {
  if (hiddenSize % numHeads !== 0) {
    throw new LoomError(`${origin}: embedding size ${hiddenSize} is not divisible by ${numHeads} heads`);
  }
  return hiddenSize / numHeads;
}

// ---------------------------------------------------------------------------------------------
// Weight names

/** Where each weight lives in one checkpoint layout (names without ".weight"/".bias"). */
export interface GPT2Names {
  tokenEmbd: string;
  positionEmbd: string;
  outputNorm: string;
  /** Untied LM head, used when present. */
  output: string;
  attnNorm(l: number): string;
  attnQKV(l: number): string;
  attnOut(l: number): string;
  ffnNorm(l: number): string;
  ffnUp(l: number): string;
  ffnDown(l: number): string;
  /** HF Conv1D stores matrices (in, out). */
  transposed: boolean;
}

/** HF: `transformer.` prefix from GPT2LMHeadModel, none from a bare GPT2Model. */
export function hfNames(source: WeightSource): GPT2Names {
  const p = source.has("transformer.wte.weight") ? "transformer." : "";
  return {
    tokenEmbd: `${p}wte`, positionEmbd: `${p}wpe`, outputNorm: `${p}ln_f`, output: "lm_head",
    attnNorm: (l) => `${p}h.${l}.ln_1`,
    attnQKV: (l) => `${p}h.${l}.attn.c_attn`,
    attnOut: (l) => `${p}h.${l}.attn.c_proj`,
    ffnNorm: (l) => `${p}h.${l}.ln_2`,
    ffnUp: (l) => `${p}h.${l}.mlp.c_fc`,
    ffnDown: (l) => `${p}h.${l}.mlp.c_proj`,
    transposed: true,
  };
}

export const GGUF_NAMES: GPT2Names = {
  tokenEmbd: "token_embd", positionEmbd: "position_embd", outputNorm: "output_norm", output: "output",
  attnNorm: (l) => `blk.${l}.attn_norm`,
  attnQKV: (l) => `blk.${l}.attn_qkv`,
  attnOut: (l) => `blk.${l}.attn_output`,
  ffnNorm: (l) => `blk.${l}.ffn_norm`,
  ffnUp: (l) => `blk.${l}.ffn_up`,
  ffnDown: (l) => `blk.${l}.ffn_down`,
  transposed: false,
};

// ---------------------------------------------------------------------------------------------
// Model

interface GPT2Block {
  ln1: LayerNorm;
  attn: SelfAttention;
  ln2: LayerNorm;
  mlp: GeluMLP;
}

export function buildGPT2(config: GPT2Config, source: WeightSource, layout: "hf" | "gguf", weights: WeightOptions = {}): CausalLM {
  const names = layout === "hf" ? hfNames(source) : GGUF_NAMES;
  const w = new TensorLoader(source, weights);
  const { hiddenSize: d, intermediateSize: ff, numHeads, headDim } = config;
  const tr = { transposed: names.transposed };
  const ops = w.ops;
  const layerNorm = (base: string) => new LayerNorm(w.vector(`${base}.weight`, d), w.vector(`${base}.bias`, d), config.layerNormEps, ops);

  const wte = new Embedding(w.matrix(`${names.tokenEmbd}.weight`, config.vocabSize, d));
  // Position embeddings stay in their stored type even when a load quantizes (as llama.cpp converts them).
  const wpe = new Embedding(w.matrix(`${names.positionEmbd}.weight`, config.maxPositions, d, { keepDType: true }));
  const blocks: GPT2Block[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    blocks.push({
      ln1: layerNorm(names.attnNorm(l)),
      attn: new SelfAttention(
        { nHeads: numHeads, nKVHeads: numHeads, headDim },
        { kind: "fused", qkv: w.linear(names.attnQKV(l), 3 * d, d, true, tr) },
        w.linear(names.attnOut(l), d, d, true, tr),
      ),
      ln2: layerNorm(names.ffnNorm(l)),
      mlp: new GeluMLP(w.linear(names.ffnUp(l), ff, d, true, tr), w.linear(names.ffnDown(l), d, ff, true, tr), ops),
    });
  }
  const lnF = layerNorm(names.outputNorm);
  const head = w.has(`${names.output}.weight`) ? w.matrix(`${names.output}.weight`, config.vocabSize, d) : wte.table;
  return new GPT2Model(config, wte, wpe, blocks, lnF, head, ops);
}

class GPT2Model implements CausalLM {
  private readonly activations: Activations;
  private readonly attnScratch: AttentionScratch;

  constructor(
    readonly config: GPT2Config,
    private readonly wte: Embedding,
    private readonly wpe: Embedding,
    private readonly blocks: GPT2Block[],
    private readonly lnF: LayerNorm,
    private readonly head: Matrix,
    private readonly ops: Ops,
  ) {
    this.attnScratch = new AttentionScratch({ nHeads: config.numHeads, nKVHeads: config.numHeads, headDim: config.headDim }, undefined, ops);
    this.activations = new Activations(ops, config.hiddenSize, config.intermediateSize, false);
  }

  createCache(): ModelKVCache {
    const c = this.config;
    return new ModelKVCache(Array(c.numLayers).fill(undefined), c.hiddenSize, c.maxPositions, { memory: this.ops });
  }

  async forward(tokens: ArrayLike<number>, startPos: number, kvCache: KVCache, options: ForwardOptions = {}): Promise<Float32Array> {
    const cache = checkForward(this.config, tokens, startPos, kvCache);
    const n = tokens.length;
    const logits = forwardInChunks(cache, startPos, n, prefillChunkOf(options.prefillChunk), options.logits ?? "last", this.config.vocabSize,
      (from, to, logits) => this.forwardChunk(Array.prototype.slice.call(tokens, from, to), startPos + from, cache, logits, options.trace), options.logitsOut);
    return logits;
  }

  /** Pushes tokens at startPos.. through every layer; writes the logits of the last `rows` of them. */
  private forwardChunk(tokens: number[], startPos: number, cache: ModelKVCache, logits: Float32Array, trace?: TraceFn): void {
    const { hiddenSize: d, vocabSize } = this.config;
    const n = tokens.length;
    const rows = logits.length / vocabSize; // tokens whose logits are wanted (the last ones)
    const { x, xb, xb2, h1: h } = this.activations.ensure(n);

    // x (n, nEmbd) = wte[token] + wpe[position]
    for (let t = 0; t < n; t++) {
      this.wte.lookup(x, t, tokens[t]);
      this.wpe.lookup(xb, t, startPos + t);
    }
    this.ops.add(x, x, xb, n * d);
    trace?.("embd", -1, x.subarray(0, n * d));

    for (let l = 0; l < this.blocks.length; l++) {
      const b = this.blocks[l];
      b.ln1.forward(xb, x, n); // (n, nEmbd)
      b.attn.forward(xb2, xb, n, startPos, cache, l, this.attnScratch, trace); // (n, nEmbd)
      this.ops.add(x, x, xb2, n * d);
      trace?.("attn_residual", l, x.subarray(0, n * d));
      b.ln2.forward(xb, x, n);
      b.mlp.forward(xb2, xb, n, h);
      this.ops.add(x, x, xb2, n * d);
      trace?.("l_out", l, x.subarray(0, n * d));
    }
    if (rows === 0) return;

    // Final norm and LM head only for the rows that need logits.
    this.lnF.forward(xb, x.subarray((n - rows) * d, n * d), rows); // (rows, nEmbd)
    trace?.("result_norm", -1, xb.subarray(0, rows * d));
    this.head.matmul(logits, xb, rows); // (rows, vocab)
  }
}
