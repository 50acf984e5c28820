// Runs every compiled *.test.js under dist/test with Node's built-in runner.
// Optional arguments filter the files by substring: `npm test -- tokenizers`.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return path.endsWith(".test.js") ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = find("dist/test").filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
