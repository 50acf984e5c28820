/**
 * GPT-2 checkpoints (an HF folder: config.json + safetensors) → ONNX, in the form transformers.js
 * and onnxruntime run as a text-generation model with a KV cache. Written with our own protobuf
 * encoder; no Python, no onnx package.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LoomError } from "../../errors.js";
import type { JsonObject } from "../../models/fields.js";
import { gpt2ConfigFromHF, type GPT2Config } from "../../models/gpt2.js";
import { openSafetensorsFolder } from "../../weights/safetensors.js";
import { gpt2OnnxGraph, type GPT2OnnxOptions } from "./gpt2.js";
import { encodeModel, type OnnxModel } from "./onnx-proto.js";

export { gpt2OnnxGraph, type GPT2OnnxOptions } from "./gpt2.js";
export { encodeModel, encodeTensor, ONNX_DTYPE, type OnnxModel, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type OnnxDType } from "./onnx-proto.js";
export { ProtoWriter, encodeVarint } from "./protobuf.js";
export { quantizeColumnsInt8 } from "./quantize.js";

/** LayerNormalization is in the default domain from opset 17; IR 8 is what opset 17 needs. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportResult {
  path: string;
  bytes: number;
  config: GPT2Config;
  nodes: number;
  initializers: number;
}

function readConfig(folder: string): GPT2Config {
  const path = join(folder, "config.json");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new LoomError(`${path}: cannot read the model config (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new LoomError(`${path}: expected a JSON object`);
  const modelType = (json as JsonObject).model_type;
  if (modelType !== "gpt2") throw new LoomError(`${path}: model_type is ${JSON.stringify(modelType)}; the ONNX export handles "gpt2" only`);
  return gpt2ConfigFromHF(json as JsonObject, path);
}

/** The ONNX model of the GPT-2 checkpoint in `folder`, weights inline (a protobuf stays under 2 GB up to ~450M parameters). */
export function gpt2OnnxModel(folder: string, options: GPT2OnnxOptions = {}): { model: OnnxModel; config: GPT2Config } {
  const config = readConfig(folder);
  const source = openSafetensorsFolder(folder);
  try {
    const graph = gpt2OnnxGraph(config, source, options);
    const model: OnnxModel = {
      irVersion: ONNX_IR_VERSION,
      opsets: [{ domain: "", version: ONNX_OPSET }],
      producerName: "loom",
      producerVersion: "0.1.0",
      graph,
      metadata: { source: "loom src/convert/onnx", weights: options.weights ?? "f32" },
    };
    return { model, config };
  } finally {
    source.close?.();
  }
}

/** Writes `folder`'s GPT-2 as one .onnx file at `outPath`. */
export function exportGPT2Onnx(folder: string, outPath: string, options: GPT2OnnxOptions = {}): OnnxExportResult {
  const { model, config } = gpt2OnnxModel(folder, options);
  const encoded = encodeModel(model);
  if (encoded.byteLength >= 2 ** 31) {
    throw new LoomError(`${folder}: the ONNX model would take ${encoded.byteLength} bytes, over protobuf's 2 GB limit (external data is not supported)`);
  }
  encoded.writeFile(outPath);
  return { path: outPath, bytes: encoded.byteLength, config, nodes: model.graph.nodes.length, initializers: model.graph.initializers.length };
}
