#!/usr/bin/env node
/**
 * `loom` — the command-line face of Loom. Each subcommand lives in its own file and is loaded
 * lazily, so `loom tokenize` does not pay for the model code and vice versa.
 */
import { LoomError } from "../errors.js";

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  generate: { summary: "continue a prompt with a model", load: async () => (await import("./generate.js")).generateCommand },
  tokenize: { summary: "show or stream a tokenizer's ids", load: async () => (await import("./tokenize.js")).tokenizeCommand },
  bench: { summary: "measure load, prefill and decode speed", load: async () => (await import("./bench.js")).benchCommand },
  convert: { summary: "write a (quantized) GGUF from an HF folder or GGUF", load: async () => (await import("./convert.js")).convertCommand },
  train: { summary: "train a small Llama-style model from scratch", load: async () => (await import("./train.js")).trainCommand },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: loom <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'loom <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`loom: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await command.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = String((error as { code?: unknown } | null)?.code ?? "");
    if (error instanceof LoomError || (error instanceof Error && code.startsWith("ERR_PARSE_ARGS"))) {
      console.error(`loom: ${error.message}`);
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  },
);
