/** BENCHMARKS.md: how the figures are made, then the latest full run (rewritten by `npm run bench`). */
import { renderReport, type RunReport } from "./report.js";

const METHOD = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); rerun it to refresh this file. \`npm run bench -- --only gpt2\`
(or \`gpt2-q8_0\`, \`smollm2\`, \`tinyllama\`, \`tokenizers\`) runs a part and leaves this file alone
unless \`--write\` is given.

## How the figures are made

- **Models.** Random checkpoints shaped like GPT-2-124M (an HF folder with F32 safetensors, and F32 and
  Q8_0 GGUF files with the same weights), SmolLM2-135M (llama architecture, 30 layers, hidden 576,
  9/3 heads, FFN 1536, vocabulary 49152, tied embeddings; Q8_0 GGUF) and TinyLlama-1.1B (22 layers,
  hidden 2048, 32/4 heads, FFN 5632, vocabulary 32000; Q8_0 GGUF). Generated on demand into
  \`bench-models/\` (never committed) from a seeded xorshift stream per tensor, quantized with
  Loom's own quantizer a few rows at a time; the GGUF files carry GPT-2's vocabulary (cut to
  49152 ids for SmolLM2) or Llama-2's, as tokenizer metadata llama.cpp loads.
- **Every engine runs in a fresh process per model**, one after the other, on the same file, with
  the same thread count: so the load is cold for the process (the file itself is in the OS page cache
  after generation, for every engine alike) and the peak RSS (\`maxRSS\`) is that model's own.
  The engines take turns for \`--rounds\` rounds (default 2) and each keeps its best figures: on a
  shared machine other work only slows an engine down.
- **Loom**: \`loom bench --model FILE --json\`. Load = start of loading → logits of a first one-token
  forward; then a 16-token throwaway prefill warms the multi-token path and up to 256 throwaway
  decode steps (at most 3 s) the one-token path, on a cache of their own (llama-bench warms up too;
  V8 optimizes the per-token JavaScript only after a few hundred calls, and the first 128 decode
  steps of a process ran 5–15% slower here — each Loom row's note gives that warm-up rate);
  prefill = one forward over a seeded random prompt; decode = greedy one-token forwards.
  Decode stops early after \`--max-decode-seconds\` (then the rate is over the tokens done).
- **llama.cpp (llama-bench)**: llama.cpp's own benchmark, compiled from the source bundled in
  node-llama-cpp against the libraries node-llama-cpp ships, with its defaults otherwise (F16 KV
  cache, flash attention auto): prefill is \`llama-bench -p P -n 0 -t T -r R\`, decode
  \`llama-bench -p 0 -n N -d P -t T -r R\` — N tokens after P positions of context, where every
  other engine decodes (after its prompt); a plain \`-n N\` decodes from an empty context, with less
  attention per token (SmolLM2: ~8% faster than at depth 128 here). R is 1 per round by default.
  It does not time loading; its RSS (GNU time, the larger of the two runs) counts mapped file pages.
- **llama.cpp (node-llama-cpp binding)**: the same library through node-llama-cpp, measured like Loom
  (same prompt ids, greedy, same clock points, the same decode warm-up first). Its per-token loop
  costs more than llama-bench's.
- **transformers.js** (\`@huggingface/transformers\` on onnxruntime-node, installed on demand into
  \`bench-models/peers/\`, not a project dependency) runs ONNX models only. There is no Python here,
  so Loom exports the GPT-2 checkpoint itself (\`src/convert/onnx/\`: opset 17, standard ops, the
  inputs and outputs transformers.js passes — \`past_key_values.*\`, \`present.*\`,
  \`num_logits_to_keep\`; logits equal Loom's within 3e-6, same greedy tokens). fp32 for the F32
  group; for Q8_0 an int8 export of our own (per-column weights, MatMulInteger), not Optimum's
  quantizer. Timed like Loom: \`generate()\` from the same prompt ids, greedy, a streamer marking the
  first token, after the same decode warm-up (throwaway \`generate()\` calls of 32 steps); load =
  \`from_pretrained\` to the first token. Other architectures: no exporter.
- **Bandwidth limit.** Decode reads every weight once per token, so tokens/s ≤ bandwidth ÷ weight bytes
  per token (embedding rows and the KV cache are left out). Bandwidth is measured in the same run by
  summing 1 GB of f32 values with WebAssembly SIMD, before every model, keeping the best (a plain
  JavaScript loop is shown too; it cannot saturate memory). "decode / limit" is how close each
  engine gets; above 100% means the machine was busier while the probe ran than while the engine did.
- Attention memory at long context (flash vs a full score matrix, 2k–32k tokens) is measured
  separately: \`node dist/bench/attention-memory.js\`, table in docs/long-context.md.
- Where a decode step's time goes (matrix products by shape, attention, the main thread's serial
  part), for one model file: \`node dist/bench/decode-profile.js --model FILE\`.
- MB are 10^6 bytes. KV MB: Loom keeps keys and values in f32 for the positions used; llama.cpp's
  figure is its f16 cache for its context size.

## Latest full run

`;

export function benchmarksMarkdown(report: RunReport): string {
  return METHOD + renderReport(report);
}
