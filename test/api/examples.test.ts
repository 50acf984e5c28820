// The examples compile with the project and run against a fixture model: their greedy output equals
// what the API gives in this process.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AutoModelForCausalLM } from "../../src/index.js";
import { apiFixtures } from "./fixtures.js";

const fx = apiFixtures();
after(() => fx.cleanup());

function runExample(name: string, args: string[]): string {
  const run = spawnSync(process.execPath, [`dist/examples/${name}.js`, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, HF_HUB_OFFLINE: "1" },
  });
  assert.equal(run.status, 0, `${name} failed:\n${run.stderr}`);
  return run.stdout;
}

test("examples/hf-example prints the greedy text the API gives, then a sampled and a streamed one", async () => {
  const stdout = runExample("hf-example", [fx.hfDir, "--max-length", "16"]);
  const model = await AutoModelForCausalLM.fromPretrained(fx.hfDir);
  const tokenizer = model.tokenizer!;
  const inputIds = tokenizer.encode("In a shocking discovery, scientists found");
  const greedy = await model.generate(inputIds, { maxLength: 16 });
  const lines = stdout.split("\n");
  assert.equal(lines[0], "Greedy:");
  assert.equal(lines.slice(1).join("\n").split("\n\nSampled")[0], tokenizer.decode(greedy[0], { skipSpecialTokens: true }));
  assert.match(stdout, /\nSampled \(temperature 0\.7\):\nIn a shocking discovery, scientists found/);
  assert.match(stdout, /\nStreamed:\n/);
});

test("examples/decoding-strategies runs greedy, temperature, top-k, top-p and beam search side by side", async () => {
  const stdout = runExample("decoding-strategies", ["--model", fx.ggufPath, "--max-new-tokens", "4"]);
  const headers = stdout.split("\n").filter((line) => line.startsWith("== "));
  assert.deepEqual(
    headers.map((h) => h.slice(3).split(" (")[0]),
    ["greedy", "temperature 0.7", "top-k 50", "top-p 0.92", "beam search"],
  );
  assert.match(headers[4], /score -?\d/);
  const model = await AutoModelForCausalLM.fromPretrained(fx.ggufPath);
  const prompt = "I enjoy walking with my cute dog";
  const [greedy] = await model.generate(model.tokenizer!.encode(prompt), { maxNewTokens: 4 });
  const greedySection = stdout.split(`${headers[0]}\n`)[1].split("\n\n== ")[0];
  assert.equal(greedySection, model.tokenizer!.decode(greedy, { skipSpecialTokens: true }));
});
