import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { createDownloadProgress, formatBytes } from "../../src/hub/index.js";

/** A stream that says it is a terminal and keeps what is written to it. */
function fakeTerminal(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  Object.assign(stream, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString("utf8") };
}

const events = (filename: string, total: number) => [
  { repoId: "org/m", filename, downloadedBytes: 0, totalBytes: total, done: false },
  { repoId: "org/m", filename, downloadedBytes: total / 2, totalBytes: total, done: false },
  { repoId: "org/m", filename, downloadedBytes: total, totalBytes: total, done: true },
];

test("draws a bar per file on a terminal, ending at 100%", async () => {
  const terminal = fakeTerminal(true);
  const onProgress = createDownloadProgress({ stream: terminal.stream });
  for (const e of [...events("model.safetensors", 2_000_000), ...events("config.json", 600)]) onProgress(e);
  await new Promise((done) => setImmediate(done));
  const text = terminal.text();
  assert.match(text, /model\.safetensors/);
  assert.match(text, /config\.json/);
  assert.match(text, /100%/);
  assert.match(text, /2\.0 MB\/2\.0 MB/);
});

test("is silent when stderr is not a terminal, or when disabled", () => {
  for (const [isTTY, enabled] of [[false, undefined], [true, false]] as const) {
    const terminal = fakeTerminal(isTTY);
    const onProgress = createDownloadProgress({ stream: terminal.stream, enabled });
    for (const e of events("model.safetensors", 1000)) onProgress(e);
    assert.equal(terminal.text(), "");
  }
});

test("byte counts read back to the value they print (decimal units)", () => {
  for (const bytes of [0, 999, 1000, 123_456, 9_876_543, 4_321_000_000]) {
    const [number, unit] = formatBytes(bytes).split(" ");
    const scale = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[unit as "B"];
    assert.ok(Math.abs(Number(number) * scale - bytes) <= 0.05 * scale, `${bytes} → ${formatBytes(bytes)}`);
    assert.ok(Number(number) < 1000);
  }
});
