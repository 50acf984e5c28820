/**
 * A checkpoint's RoPE scaling as GGUF `{arch}.rope.scaling.*` keys, as convert_hf_to_gguf.py writes
 * them and llama.cpp reads them back (see nn/rope-scaling.ts ropeScalingFromGGUF):
 *   linear → type "linear" + factor;  yarn → type "yarn" + factor + original_context_length, and
 *   `attn_factor` only when the checkpoint's magnitude differs from llama.cpp's 0.1·ln(factor) + 1.
 * Dynamic NTK and LongRoPE have no GGUF form for these architectures; llama3 is a `rope_freqs`
 * tensor that only the llama architecture reads.
 */
import { LoomError } from "../errors.js";
import { yarnGetMscale, type RopeScaling } from "../nn/rope-scaling.js";
import type { GGUFMetaEntry } from "../weights/gguf-format.js";
import { f32, str, u32 } from "./plan.js";

export function ropeScalingMetadata(arch: string, scaling: RopeScaling, origin: string, warnings: string[]): GGUFMetaEntry[] {
  const key = (k: string) => `${arch}.rope.scaling.${k}`;
  switch (scaling.type) {
    case "none":
      return [];
    case "linear":
      return [str(key("type"), "linear"), f32(key("factor"), scaling.factor)];
    case "yarn": {
      const entries = [
        str(key("type"), "yarn"), f32(key("factor"), scaling.factor), u32(key("original_context_length"), scaling.originalMaxPositions),
      ];
      const llamaCppMagnitude = yarnGetMscale(scaling.factor);
      if (Math.abs(scaling.attentionFactor - llamaCppMagnitude) > 1e-6) {
        entries.push(f32(key("attn_factor"), scaling.attentionFactor / llamaCppMagnitude));
      }
      if (scaling.betaFast !== 32 || scaling.betaSlow !== 1 || !scaling.truncate) {
        warnings.push(`${origin}: YaRN beta_fast/beta_slow/truncate other than 32/1/true are not read by llama.cpp for ${arch}`);
      }
      return entries;
    }
    default:
      throw new LoomError(`${origin}: ${scaling.type} RoPE scaling cannot be stored in a GGUF ${arch} file`);
  }
}
