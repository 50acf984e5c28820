/**
 * `loom tokenize --model PATH [--text T | --jsonl]`
 *   Without --jsonl: shows the tokens of a text (from --text, else stdin) as id, vocabulary piece
 *   and the text each piece stands for.
 *   With --jsonl: reads lines {"text": "…"} on stdin and writes one line {"ids": […], "decoded": "…"}
 *   each (special tokens added as the tokenizer does by default; decoded without skipping any).
 * PATH is a tokenizer.json, a Hugging Face model folder or a .gguf file.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { LoomError } from "../errors.js";
import { loadTokenizer, type LoomTokenizer } from "../tokenizers/index.js";

const USAGE = `usage: loom tokenize --model PATH [--text TEXT | --jsonl]

  --model PATH   tokenizer.json, Hugging Face model folder, or .gguf file
  --text TEXT    the text to show as tokens (default: read stdin)
  --jsonl        read {"text": ...} lines on stdin, write {"ids": [...], "decoded": ...} lines
  --help         show this help`;

export interface TokenizeIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * One line per token: id, the vocabulary piece, and the text it adds in context (what a stream
 * decoder emits for it; "" while it holds back part of a character).
 */
export function formatTokens(tokenizer: LoomTokenizer, ids: readonly number[]): string {
  const stream = tokenizer.createStreamDecoder();
  const rows = ids.map((id) => ({
    id: String(id),
    piece: JSON.stringify(tokenizer.idToToken(id) ?? "?"),
    text: JSON.stringify(stream.push(id)),
    special: tokenizer.isSpecial(id) ? "  (special)" : "",
  }));
  const idWidth = Math.max(2, ...rows.map((r) => r.id.length));
  const pieceWidth = Math.max(5, ...rows.map((r) => r.piece.length));
  const lines = [`${ids.length} tokens`, `${"id".padStart(idWidth)}  ${"piece".padEnd(pieceWidth)}  text`];
  for (const r of rows) lines.push(`${r.id.padStart(idWidth)}  ${r.piece.padEnd(pieceWidth)}  ${r.text}${r.special}`);
  return lines.join("\n") + "\n";
}

async function streamJsonl(tokenizer: LoomTokenizer, io: TokenizeIO): Promise<number> {
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim().length === 0) continue;
    let text: unknown;
    try {
      text = (JSON.parse(line) as { text?: unknown }).text;
    } catch (error) {
      await write(io.stderr, `loom tokenize: stdin line ${lineNumber} is not JSON: ${(error as Error).message}\n`);
      return 1;
    }
    if (typeof text !== "string") {
      await write(io.stderr, `loom tokenize: stdin line ${lineNumber} has no string "text" field\n`);
      return 1;
    }
    const ids = tokenizer.encode(text);
    await write(io.stdout, JSON.stringify({ ids, decoded: tokenizer.decode(ids) }) + "\n");
  }
  return 0;
}

export async function tokenizeCommand(argv: string[], io: TokenizeIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      text: { type: "string" },
      jsonl: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    await write(io.stdout, USAGE + "\n");
    return 0;
  }
  if (values.model === undefined) throw new LoomError(`tokenize: --model PATH is required\n\n${USAGE}`);
  if (values.jsonl && values.text !== undefined) throw new LoomError("tokenize: --text and --jsonl do not go together");
  const tokenizer = await loadTokenizer(values.model);
  if (values.jsonl) return streamJsonl(tokenizer, io);
  const text = values.text ?? (await readAll(io.stdin));
  await write(io.stdout, formatTokens(tokenizer, tokenizer.encode(text)));
  return 0;
}
