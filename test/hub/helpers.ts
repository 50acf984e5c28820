// Shared set-up for the hub tests: seeded bytes, temp folders, an environment that cannot reach the network.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeHub, fakeCommit, type FakeRepo } from "./fake-hub.js";

const HUB_VARS = [
  "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_ENDPOINT", "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
  "HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_DISABLE_PROGRESS_BARS",
];

/** xorshift32 bytes: the same seed gives the same "weights". */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

const tempDirs: string[] = [];

export function tempDir(prefix = "loom-hub-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Clears every HF_* variable, points HF_HOME at a temp folder and HF_ENDPOINT at `endpoint`. */
export function isolateEnv(endpoint: string): () => void {
  const saved = new Map(HUB_VARS.map((name) => [name, process.env[name]]));
  for (const name of HUB_VARS) delete process.env[name];
  process.env.HF_HOME = tempDir("loom-hf-home-");
  process.env.HF_ENDPOINT = endpoint;
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Runs `body` with some variables set (undefined deletes), then puts them back. */
export async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T> | T): Promise<T> {
  const saved = Object.keys(vars).map((name) => [name, process.env[name]] as const);
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

export const OLD = fakeCommit("old");
export const MAIN = fakeCommit("main");

/** A small model repo with two commits: the newer one is "main", the older one is tag "v1". */
export function tinyRepo(): FakeRepo {
  const shared = {
    "tokenizer.json": { content: Buffer.from(JSON.stringify({ model: { type: "BPE" } })) },
    "tokenizer_config.json": { content: Buffer.from(JSON.stringify({ bos_token: "<s>" })) },
    "onnx/model.onnx": { content: Buffer.from("not really onnx") },
  };
  return {
    refs: { main: MAIN, v1: OLD },
    commits: {
      [OLD]: {
        ...shared,
        "config.json": { content: Buffer.from(JSON.stringify({ model_type: "gpt2", n_layer: 1 })) },
        "model.safetensors": { content: seededBytes(40_000, 1), lfs: true },
      },
      [MAIN]: {
        ...shared,
        "config.json": { content: Buffer.from(JSON.stringify({ model_type: "gpt2", n_layer: 2 })) },
        "model.safetensors": { content: seededBytes(50_000, 2), lfs: true },
      },
    },
  };
}

export async function startHub(): Promise<FakeHub> {
  const hub = await new FakeHub().start();
  hub.repos.set("loom-test/tiny", tinyRepo());
  return hub;
}
