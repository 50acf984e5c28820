/**
 * `loom convert`: an HF folder or a GGUF file → a GGUF file in the requested storage type.
 */
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { convertCheckpoint, OUTPUT_DTYPES, parseOutputDType } from "../convert/index.js";

const HELP = `usage: loom convert --model PATH --out FILE.gguf [--dtype TYPE] [options]

  --model PATH          HF folder (config.json + *.safetensors + tokenizer.json) or a .gguf file
  --out FILE.gguf       where to write the GGUF file
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
  const dtype = parseOutputDType(values.dtype ?? "f16");
  const started = Date.now();
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
