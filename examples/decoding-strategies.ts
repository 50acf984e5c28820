/**
 * The decoding strategies of Hugging Face's "How to generate text" on one prompt, side by side:
 * greedy, sampling with a temperature, top-k, top-p (nucleus) and beam search.
 *
 * Run: node dist/examples/decoding-strategies.js [MODEL] [--max-new-tokens N] [--prompt TEXT] [--seed S]
 * MODEL is an HF folder, a .gguf file or a hub id (default: $LOOM_MODEL, else Loom's bundled model).
 */
import { parseArgs } from "node:util";
import { AutoModelForCausalLM, AutoTokenizer, type ModelGenerateOptions } from "../src/index.js";

const { values, positionals } = parseArgs({
  options: {
    model: { type: "string" },
    prompt: { type: "string", default: "I enjoy walking with my cute dog" },
    "max-new-tokens": { type: "string", default: "40" },
    seed: { type: "string", default: "42" },
  },
  allowPositionals: true,
});
const MODEL = values.model ?? positionals[0] ?? process.env.LOOM_MODEL;
const maxNewTokens = Number(values["max-new-tokens"]);
const seed = Number(values.seed);

const tokenizer = await AutoTokenizer.fromPretrained(MODEL);
const model = await AutoModelForCausalLM.fromPretrained(MODEL);
const inputIds = tokenizer.encode(values.prompt!);

const strategies: [string, ModelGenerateOptions][] = [
  ["greedy", {}],
  ["temperature 0.7", { doSample: true, temperature: 0.7, topK: 0, seed }],
  ["top-k 50", { doSample: true, topK: 50, seed }],
  ["top-p 0.92", { doSample: true, topP: 0.92, topK: 0, seed }],
  ["beam search (5 beams)", { numBeams: 5, noRepeatNgramSize: 2, earlyStopping: true }],
];

console.log(`prompt: ${JSON.stringify(values.prompt)}\n`);
for (const [name, options] of strategies) {
  const started = performance.now();
  const out = await model.generate(inputIds, { ...options, maxNewTokens, returnDictInGenerate: true });
  const ms = performance.now() - started;
  const score = out.sequencesScores ? `, score ${out.sequencesScores[0].toFixed(3)}` : "";
  const text = tokenizer.decode(out.newTokens[0], { skipSpecialTokens: true });
  console.log(`== ${name} (${out.newTokens[0].length} tokens, ${ms.toFixed(0)} ms${score})`);
  console.log(`${values.prompt}${text}\n`);
}
model.dispose();
