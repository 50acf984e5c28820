/**
 * Hugging Face's classic generation example, ported line for line:
 *
 *   tokenizer = AutoTokenizer.from_pretrained("gpt2")
 *   model = AutoModelForCausalLM.from_pretrained("gpt2")
 *   input_ids = tokenizer.encode("In a shocking discovery, scientists found", return_tensors="pt")
 *   greedy_output = model.generate(input_ids, max_length=50)
 *   print(tokenizer.decode(greedy_output[0], skip_special_tokens=True))
 *   sample_output = model.generate(input_ids, do_sample=True, max_length=50, temperature=0.7)
 *   print(tokenizer.decode(sample_output[0], skip_special_tokens=True))
 *
 * Run: node dist/examples/hf-example.js [MODEL] [--max-length N]
 * MODEL is an HF folder, a .gguf file or a hub id such as "gpt2" (default: $LOOM_MODEL, else Loom's
 * bundled model, so it runs offline).
 */
import { parseArgs } from "node:util";
import { AutoModelForCausalLM, AutoTokenizer } from "../src/index.js";

const { values, positionals } = parseArgs({ options: { model: { type: "string" }, "max-length": { type: "string" } }, allowPositionals: true });
const MODEL = values.model ?? positionals[0] ?? process.env.LOOM_MODEL; // undefined: Loom's bundled model
const MAX_LENGTH = Number(values["max-length"] ?? 50);

const tokenizer = await AutoTokenizer.fromPretrained(MODEL);
const model = await AutoModelForCausalLM.fromPretrained(MODEL);
const inputIds = tokenizer.encode("In a shocking discovery, scientists found");

console.log("Greedy:");
const greedy = await model.generate(inputIds, { maxLength: MAX_LENGTH });
console.log(tokenizer.decode(greedy[0], { skipSpecialTokens: true }));

console.log("\nSampled (temperature 0.7):");
const sampled = await model.generate(inputIds, { doSample: true, maxLength: MAX_LENGTH, temperature: 0.7 });
console.log(tokenizer.decode(sampled[0], { skipSpecialTokens: true }));

console.log("\nStreamed:");
for await (const step of model.stream(inputIds, { maxNewTokens: Math.min(20, MAX_LENGTH - inputIds.length) })) process.stdout.write(step.text);
process.stdout.write("\n");
model.dispose();
