/**
 * GPT-2 as an ONNX graph in the form transformers.js runs for a `gpt2` text-generation model
 * (optimum's "text-generation-with-past" export, opset 17, standard ops only):
 *
 *   inputs   input_ids (batch, seq) int64, attention_mask (batch, past+seq) int64,
 *            position_ids (batch, seq) int64, past_key_values.{l}.key/.value (batch, heads, past, headDim),
 *            num_logits_to_keep () int64 — 0: logits for every position, k > 0: the last k
 *   outputs  logits (batch, kept, vocab), present.{l}.key/.value (batch, heads, past+seq, headDim)
 *
 * Per block:  x += c_proj(attn(LN1(x)));  x += mlp.c_proj(gelu_tanh(mlp.c_fc(LN2(x))))
 * with attn = softmax(q·kᵀ/√headDim, masked causally and by attention_mask)·v, then LN_f and an LM
 * head tied to wte (stored transposed, (d, vocab), as optimum's export does).
 * HF Conv1D weights are already (in, out), which is what MatMul(x, W) takes.
 */
import { LoomError } from "../../errors.js";
import type { GPT2Config } from "../../models/gpt2.js";
import { hfNames } from "../../models/gpt2.js";
import { dequantize, float32View } from "../../tensor/dequantize.js";
import { shapeString } from "../../tensor/tensor.js";
import type { WeightSource } from "../../weights/source.js";
import { attr, GraphBuilder } from "./graph-builder.js";
import type { OnnxGraph, OnnxValueInfo } from "./onnx-proto.js";
import { quantizeColumnsInt8 } from "./quantize.js";

export interface GPT2OnnxOptions {
  /** "int8": matrices as int8 with a scale per output column, run through DynamicQuantizeLinear + MatMulInteger. */
  weights?: "f32" | "int8";
  /** Add the num_logits_to_keep input (transformers.js passes 1 while generating). Default true. */
  numLogitsToKeep?: boolean;
}

/** HF's torch.finfo(float32).min, the score of a masked position. */
const MASKED_SCORE = -3.4028234663852886e38;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INT64_MAX = 0x7fffffffffffffffn;

export function gpt2OnnxGraph(config: GPT2Config, source: WeightSource, options: GPT2OnnxOptions = {}): OnnxGraph {
  const names = hfNames(source);
  const { hiddenSize: d, numHeads: heads, headDim, intermediateSize: ff, vocabSize: vocab, numLayers } = config;
  const int8 = options.weights === "int8";
  const g = new GraphBuilder();

  /** An f32 weight of the expected HF shape, as an initializer. */
  const weight = (name: string, shape: number[]): string => {
    const values = floatValues(source, name, shape);
    return g.initializer(name, "float", shape, values);
  };
  /** x (…, in) · W (in, out) + b. */
  const linear = (x: string, base: string, inDim: number, outDim: number): string => {
    const product = int8 ? quantizedMatMul(g, x, floatValues(source, `${base}.weight`, [inDim, outDim]), `${base}.weight`, inDim, outDim)
      : g.op("MatMul", [x, weight(`${base}.weight`, [inDim, outDim])]);
    return g.op("Add", [product, weight(`${base}.bias`, [outDim])]);
  };
  const layerNorm = (x: string, base: string): string =>
    g.op("LayerNormalization", [x, weight(`${base}.weight`, [d]), weight(`${base}.bias`, [d])], { axis: attr.int(-1), epsilon: attr.float(config.layerNormEps) });

  // Embeddings: x (batch, seq, d) = wte[input_ids] + wpe[position_ids]
  g.scope = "/embeddings";
  const wte = weight(`${names.tokenEmbd}.weight`, [vocab, d]);
  const wpe = weight(`${names.positionEmbd}.weight`, [config.maxPositions, d]);
  let x = g.op("Add", [g.op("Gather", [wte, "input_ids"]), g.op("Gather", [wpe, "position_ids"])]);

  // The mask every layer shares: allowed (batch, 1, seq, total) = key j ≤ query's position ∧ attention_mask[b, j].
  g.scope = "/mask";
  const zero = g.int64s([0]);
  const one = g.int64s([1]);
  const total = g.op("Gather", [g.op("Shape", ["attention_mask"]), one], { axis: attr.int(0) }); // (1,)
  const seq = g.op("Gather", [g.op("Shape", ["input_ids"]), one], { axis: attr.int(0) }); // (1,)
  const past = g.op("Sub", [total, seq]);
  const scalar = (v: string) => g.op("Squeeze", [v, zero]);
  const queryPos = g.op("Range", [scalar(past), scalar(total), g.scalarInt64(1)]); // (seq,)
  const keyPos = g.op("Range", [g.scalarInt64(0), scalar(total), g.scalarInt64(1)]); // (total,)
  const causal = g.op("LessOrEqual", [g.op("Unsqueeze", [keyPos, zero]), g.op("Unsqueeze", [queryPos, one])]); // (seq, total)
  const padding = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], { to: attr.int(9) }), g.int64s([1, 2])]); // (batch, 1, 1, total)
  const allowed = g.op("And", [causal, padding]); // (batch, 1, seq, total)
  const maskedScore = g.scalarFloat(MASKED_SCORE);
  const scale = g.scalarFloat(1 / Math.sqrt(headDim));
  const headsShape = g.int64s([0, 0, heads, headDim]);
  const mergedShape = g.int64s([0, 0, d]);
  const thirds = g.int64s([d, d, d]);

  for (let l = 0; l < numLayers; l++) {
    g.scope = `/h.${l}/attn`;
    const h = layerNorm(x, names.attnNorm(l));
    const qkv = linear(h, names.attnQKV(l), d, 3 * d); // (batch, seq, 3d)
    const [q, k, v] = g.opN("Split", [qkv, thirds], 3, { axis: attr.int(2) });
    const toHeads = (t: string) => g.op("Transpose", [g.op("Reshape", [t, headsShape])], { perm: attr.ints([0, 2, 1, 3]) }); // (batch, heads, seq, headDim)
    const keys = g.op("Concat", [`past_key_values.${l}.key`, toHeads(k)], { axis: attr.int(2) }, `present.${l}.key`); // (batch, heads, total, headDim)
    const values = g.op("Concat", [`past_key_values.${l}.value`, toHeads(v)], { axis: attr.int(2) }, `present.${l}.value`);
    const scores = g.op("Mul", [g.op("MatMul", [toHeads(q), g.op("Transpose", [keys], { perm: attr.ints([0, 1, 3, 2]) })]), scale]); // (batch, heads, seq, total)
    const probs = g.op("Softmax", [g.op("Where", [allowed, scores, maskedScore])], { axis: attr.int(-1) });
    const context = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, values])], { perm: attr.ints([0, 2, 1, 3]) }), mergedShape]); // (batch, seq, d)
    x = g.op("Add", [x, linear(context, names.attnOut(l), d, d)]);

    g.scope = `/h.${l}/mlp`;
    const up = linear(layerNorm(x, names.ffnNorm(l)), names.ffnUp(l), d, ff); // (batch, seq, ff)
    x = g.op("Add", [x, linear(geluTanh(g, up), names.ffnDown(l), ff, d)]);
  }

  g.scope = "/head";
  if (options.numLogitsToKeep ?? true) {
    // Keep rows [seq - k, seq) when k > 0, every row when k = 0.
    const k = g.op("Unsqueeze", ["num_logits_to_keep", zero]); // (1,)
    const start = g.op("Where", [g.op("Equal", [k, zero]), zero, g.op("Neg", [k])]);
    x = g.op("Slice", [x, start, g.int64s([INT64_MAX]), one]);
  }
  const normed = layerNorm(x, names.outputNorm);
  const head = lmHeadTransposed(source, names, vocab, d);
  if (int8) quantizedMatMul(g, normed, head, "lm_head.weight.T", d, vocab, "logits");
  else g.op("MatMul", [normed, g.initializer("lm_head.weight.T", "float", [d, vocab], head)], {}, "logits");

  const inputs: OnnxValueInfo[] = [
    { name: "input_ids", dtype: "int64", shape: ["batch_size", "sequence_length"] },
    { name: "attention_mask", dtype: "int64", shape: ["batch_size", "past_sequence_length + sequence_length"] },
    { name: "position_ids", dtype: "int64", shape: ["batch_size", "sequence_length"] },
  ];
  const outputs: OnnxValueInfo[] = [{ name: "logits", dtype: "float", shape: ["batch_size", "logits_length", vocab] }];
  for (let l = 0; l < numLayers; l++) {
    for (const kind of ["key", "value"]) {
      inputs.push({ name: `past_key_values.${l}.${kind}`, dtype: "float", shape: ["batch_size", heads, "past_sequence_length", headDim] });
      outputs.push({ name: `present.${l}.${kind}`, dtype: "float", shape: ["batch_size", heads, "past_sequence_length + sequence_length", headDim] });
    }
  }
  if (options.numLogitsToKeep ?? true) inputs.push({ name: "num_logits_to_keep", dtype: "int64", shape: [] });
  return { name: "gpt2", nodes: g.nodes, initializers: g.initializers, inputs, outputs };
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), spelled out as torch exports gelu_new. */
function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.op("Pow", [x, g.scalarFloat(3)]);
  const inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, g.scalarFloat(0.044715)])]), g.scalarFloat(SQRT_2_OVER_PI)]);
  return g.op("Mul", [g.op("Mul", [x, g.scalarFloat(0.5)]), g.op("Add", [g.op("Tanh", [inner]), g.scalarFloat(1)])]);
}

/**
 * x (…, in) · W (in, out) with W stored as int8 and a scale per output column, in the pattern
 * onnxruntime's quantize_dynamic writes (and fuses into one kernel): activations quantized per
 * call to uint8, an integer product, then the product of both scales.
 */
function quantizedMatMul(g: GraphBuilder, x: string, w: Float32Array, name: string, inDim: number, outDim: number, output?: string): string {
  const { values, scales } = quantizeColumnsInt8(w, inDim, outDim);
  const [xq, xScale, xZero] = g.opN("DynamicQuantizeLinear", [x], 3);
  const wq = g.initializer(`${name}_quantized`, "int8", [inDim, outDim], values);
  const wScale = g.initializer(`${name}_scale`, "float", [outDim], scales);
  const product = g.op("Cast", [g.op("MatMulInteger", [xq, wq, xZero])], { to: attr.int(1) });
  return g.op("Mul", [product, g.op("Mul", [xScale, wScale])], {}, output);
}

/** A weight as f32 values, checked against the HF shape the graph needs. */
function floatValues(source: WeightSource, name: string, shape: number[]): Float32Array {
  const t = source.get(name);
  if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
    throw new LoomError(`${source.origin}: tensor "${name}" has shape ${shapeString(t.shape)}, expected ${shapeString(shape)} (HF Conv1D layout (in, out))`);
  }
  if (t.dtype !== "f32" && t.dtype !== "f16" && t.dtype !== "bf16") {
    throw new LoomError(`${source.origin}: tensor "${name}" is ${t.dtype}; the ONNX export reads f32, f16 or bf16 weights`);
  }
  return float32View(t) ?? dequantize(t);
}

/** The LM head as (d, vocab): lm_head.weight when the checkpoint has one, else wte, transposed. */
function lmHeadTransposed(source: WeightSource, names: ReturnType<typeof hfNames>, vocab: number, d: number): Float32Array {
  const name = source.has(`${names.output}.weight`) ? `${names.output}.weight` : `${names.tokenEmbd}.weight`;
  const rows = floatValues(source, name, [vocab, d]); // (vocab, d)
  const out = new Float32Array(vocab * d);
  for (let r = 0; r < vocab; r++) for (let c = 0; c < d; c++) out[c * vocab + r] = rows[r * d + c];
  return out;
}
