/**
 * `loom convert`: an HF folder or a GGUF file → a GGUF file in the requested storage type; or a
 * GPT-2 HF folder → an ONNX model (what onnxruntime and transformers.js run).
 */
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { convertCheckpoint, OUTPUT_DTYPES, parseOutputDType } from "../convert/index.js";
import { exportGPT2Onnx } from "../convert/onnx/index.js";
import { LoomError } from "../errors.js";

const HELP = `usage: loom convert --model PATH --out FILE.gguf|FILE.onnx [--dtype TYPE] [options]

  --model PATH          HF folder (config.json + *.safetensors + tokenizer.json) or a .gguf file
  --out FILE.gguf       where to write the GGUF file
  --out FILE.onnx       write ONNX instead (GPT-2 HF folders; opset 17, KV-cache inputs and outputs
                        as transformers.js expects; --dtype f32 (default) or int8)
  --dtype TYPE          storage type of the matrices (default f16): ${OUTPUT_DTYPES.join(", ")}
                        norms, biases and position embeddings stay f32; rows that do not fill
                        whole blocks fall back as llama.cpp does (k-quants to q5_0/q5_1/q8_0, then f16)
  --name NAME           general.name (default: the folder's name)
  --allow-requantize    GGUF input: allow quantizing already quantized matrices again
  --quiet               print nothing but errors`;

export async function convertCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      out: { type: "string" },
      dtype: { type: "string" },
      name: { type: "string" },
      "allow-requantize": { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model || !values.out) {
    console.error(`loom convert: --model and --out are required\n\n${HELP}`);
    return 2;
  }
  const started = Date.now();
  if (values.out.toLowerCase().endsWith(".onnx")) {
    const weights = values.dtype ?? "f32";
    if (weights !== "f32" && weights !== "int8") throw new LoomError(`loom convert: ONNX weights are f32 or int8, not "${weights}"`);
    const result = exportGPT2Onnx(values.model, values.out, { weights });
    if (!values.quiet) {
      console.log(`wrote ${result.path} (gpt2 ONNX, ${weights}, ${result.nodes} nodes, ${result.initializers} initializers; ` +
        `${(result.bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return 0;
  }
  const dtype = parseOutputDType(values.dtype ?? "f16");
  const result = convertCheckpoint(values.model, values.out, {
    dtype,
    name: values.name,
    allowRequantize: values["allow-requantize"],
  });
  for (const warning of result.warnings) console.error(`loom convert: warning: ${warning}`);
  if (!values.quiet) {
    const counts = new Map<string, number>();
    for (const t of result.tensors) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
    const summary = [...counts].map(([type, n]) => `${n} ${type}`).join(", ");
    const megabytes = (statSync(result.path).size / 1e6).toFixed(1);
    console.log(`wrote ${result.path} (${result.architecture}, ${result.tensors.length} tensors: ${summary}; ${megabytes} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return 0;
}
