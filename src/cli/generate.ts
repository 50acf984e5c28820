/**
 * `loom generate`: continue a prompt. Every Hugging Face generation option has a kebab-case flag.
 * Text streams to the terminal as tokens arrive; `--json` prints one JSON object as the last line.
 */
import { parseArgs } from "node:util";
import { loadModel } from "../engine.js";
import { LoomError } from "../errors.js";
import { createDownloadProgress } from "../hub/index.js";
import { generate, stream, type GenerationOptions } from "../generation/index.js";
import type { EarlyStopping } from "../generation/options.js";
import { LOAD_DTYPES, type LoadDType } from "../nn/create-matrix.js";
import { idListFlag, intFlag, numberFlag } from "./args.js";

const HELP = `usage: loom generate [--model PATH|HUB_ID] (--prompt TEXT | --prompt-ids 1,2,3) [options]

  --model PATH          HF folder, .gguf file or hub id (default: Loom's bundled model)
  --prompt TEXT         prompt text, tokenized with the model's tokenizer
  --prompt-ids IDS      prompt as comma-separated token ids
  --max-length N        total length, prompt included      --max-new-tokens N
  --min-length N        --min-new-tokens N
  --do-sample           sample instead of greedy            --seed S
  --temperature T       --top-k K   --top-p P   --min-p P   --typical-p P
  --repetition-penalty R          --no-repeat-ngram-size K
  --num-beams B   --length-penalty L   --early-stopping true|false|never
  --num-return-sequences R        --eos-token-id ID[,ID…]   --pad-token-id ID
  --stop TEXT           stop string (repeatable)
  --json                print {"ids", "text"} (or {"sequences": […]}) as the last line
  --stats               print load, prompt and generation speed to stderr
  --threads N           kernel threads (default: the number of cores)
  --dtype q8_0|q4_0|f16|f32       store the weight matrices as this type (quantize on load)
  --offline             never reach the hub; use the local cache only
  --revision REV        hub revision (branch, tag or commit)`;

function earlyStoppingFlag(value: string | undefined): EarlyStopping | undefined {
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  if (value === "never") return "never";
  throw new LoomError(`--early-stopping expects true, false or never, got '${value}'`);
}

function dtypeFlag(value: string | undefined): LoadDType | undefined {
  if (value === undefined) return undefined;
  const dtype = LOAD_DTYPES.find((d) => d === value.toLowerCase());
  if (!dtype) throw new LoomError(`--dtype expects one of ${LOAD_DTYPES.join(", ")}, got '${value}'`);
  return dtype;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      prompt: { type: "string" },
      "prompt-ids": { type: "string" },
      "max-length": { type: "string" },
      "max-new-tokens": { type: "string" },
      "min-length": { type: "string" },
      "min-new-tokens": { type: "string" },
      "do-sample": { type: "boolean" },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      "min-p": { type: "string" },
      "typical-p": { type: "string" },
      "repetition-penalty": { type: "string" },
      "no-repeat-ngram-size": { type: "string" },
      "num-beams": { type: "string" },
      "length-penalty": { type: "string" },
      "early-stopping": { type: "string" },
      "num-return-sequences": { type: "string" },
      "eos-token-id": { type: "string" },
      "pad-token-id": { type: "string" },
      stop: { type: "string", multiple: true },
      seed: { type: "string" },
      json: { type: "boolean" },
      stats: { type: "boolean" },
      offline: { type: "boolean" },
      revision: { type: "string" },
      threads: { type: "string" },
      dtype: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const eos = idListFlag("eos-token-id", values["eos-token-id"]);
  const options: GenerationOptions = {
    maxLength: intFlag("max-length", values["max-length"]),
    maxNewTokens: intFlag("max-new-tokens", values["max-new-tokens"]),
    minLength: intFlag("min-length", values["min-length"]),
    minNewTokens: intFlag("min-new-tokens", values["min-new-tokens"]),
    doSample: values["do-sample"],
    temperature: numberFlag("temperature", values.temperature),
    topK: intFlag("top-k", values["top-k"]),
    topP: numberFlag("top-p", values["top-p"]),
    minP: numberFlag("min-p", values["min-p"]),
    typicalP: numberFlag("typical-p", values["typical-p"]),
    repetitionPenalty: numberFlag("repetition-penalty", values["repetition-penalty"]),
    noRepeatNgramSize: intFlag("no-repeat-ngram-size", values["no-repeat-ngram-size"]),
    numBeams: intFlag("num-beams", values["num-beams"]),
    lengthPenalty: numberFlag("length-penalty", values["length-penalty"]),
    earlyStopping: earlyStoppingFlag(values["early-stopping"]),
    numReturnSequences: intFlag("num-return-sequences", values["num-return-sequences"]),
    eosTokenId: eos === undefined ? undefined : eos.length === 1 ? eos[0] : eos,
    padTokenId: intFlag("pad-token-id", values["pad-token-id"]),
    stopStrings: values.stop,
    seed: intFlag("seed", values.seed),
  };
  for (const key of Object.keys(options) as (keyof GenerationOptions)[]) if (options[key] === undefined) delete options[key];

  if ((values.prompt === undefined) === (values["prompt-ids"] === undefined)) {
    throw new LoomError("give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
  }
  const loadStart = performance.now();
  const { model, tokenizer } = await loadModel(values.model, {
    offline: values.offline,
    revision: values.revision,
    threads: intFlag("threads", values.threads),
    dtype: dtypeFlag(values.dtype),
    onProgress: values.json ? undefined : createDownloadProgress(),
  });
  const loadMs = performance.now() - loadStart;
  let promptIds = idListFlag("prompt-ids", values["prompt-ids"]);
  if (promptIds === undefined) {
    if (!tokenizer) throw new LoomError(`${model.path} has no tokenizer; use --prompt-ids`);
    promptIds = tokenizer.encode(values.prompt!);
  }
  const text = (ids: number[]) => tokenizer?.decode(ids, { skipSpecialTokens: true }) ?? "";

  const oneSequence = (options.numBeams ?? 1) === 1 && (options.numReturnSequences ?? 1) === 1;
  if (oneSequence) {
    const ids: number[] = [];
    if (!values.json && values.prompt !== undefined) process.stdout.write(values.prompt);
    const start = performance.now();
    let firstToken = start;
    for await (const step of stream(model, promptIds, options, tokenizer)) {
      if (ids.length === 0) firstToken = performance.now();
      ids.push(step.token);
      if (!values.json) process.stdout.write(step.text);
    }
    const end = performance.now();
    if (values.json) console.log(JSON.stringify({ ids, text: text(ids) }));
    else process.stdout.write("\n");
    if (values.stats) printStats(loadMs, promptIds.length, firstToken - start, ids.length - 1, end - firstToken);
    return 0;
  }

  const start = performance.now();
  const result = await generate(model, promptIds, options, tokenizer);
  const elapsed = performance.now() - start;
  const sequences = result.newTokens.map((ids, i) => ({ ids, text: text(ids), score: result.scores?.[i] ?? null }));
  if (values.json) {
    console.log(JSON.stringify({ sequences }));
  } else {
    sequences.forEach((s, i) => {
      const score = s.score === null ? "" : ` (score ${s.score.toFixed(4)})`;
      console.log(`--- sequence ${i + 1}${score}\n${values.prompt ?? ""}${s.text}`);
    });
  }
  if (values.stats) {
    const tokens = sequences.reduce((sum, s) => sum + s.ids.length, 0);
    console.error(`loom: load ${loadMs.toFixed(0)} ms · ${sequences.length} sequences, ${tokens} new tokens in ${elapsed.toFixed(0)} ms`);
  }
  return 0;
}

/**
 * One line on stderr: the prompt's time is its prefill and the first token's choice; the rate
 * after it is over the remaining tokens, one forward each.
 */
function printStats(loadMs: number, promptTokens: number, promptMs: number, steps: number, stepsMs: number): void {
  const rate = (n: number, ms: number) => (ms > 0 ? ((n / ms) * 1000).toFixed(1) : "–");
  const after = steps > 0 ? ` · ${steps} more tokens in ${stepsMs.toFixed(0)} ms (${rate(steps, stepsMs)} tokens/s)` : "";
  console.error(`loom: load ${loadMs.toFixed(0)} ms · prompt ${promptTokens} tokens to the first new one in ${promptMs.toFixed(0)} ms (${rate(promptTokens, promptMs)} tokens/s)${after}`);
}
