/**
 * transformers.js (onnxruntime-node) can only run a model exported to ONNX. Exporting needs Python
 * with torch/optimum; the bench's checkpoints are generated in TypeScript and have no ONNX form,
 * so this says whether a measurement is possible and why not.
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);

/** Why transformers.js cannot be measured on `modelPath`, or undefined if it could be. */
export function transformersJsUnavailable(modelPath: string): string | undefined {
  let installed = true;
  try {
    require.resolve("@huggingface/transformers");
  } catch {
    installed = false;
  }
  const folder = existsSync(modelPath) && statSync(modelPath).isDirectory();
  const onnx = folder && ["onnx/model.onnx", "model.onnx"].some((f) => existsSync(join(modelPath, f)));
  const reasons: string[] = [];
  if (!onnx) reasons.push("no ONNX export of this checkpoint (export needs Python with torch/optimum, not available here)");
  if (!installed) reasons.push("@huggingface/transformers is not installed");
  return reasons.length === 0 ? undefined : reasons.join("; ");
}
