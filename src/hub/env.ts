// Where huggingface_hub (Python) reads its settings from, so Loom and Python share one cache and one token.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Record<string, string | undefined>;

const DEFAULT_ENDPOINT = "https://huggingface.co";
const TRUE_VALUES = new Set(["1", "ON", "YES", "TRUE"]);

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value !== "" ? value : undefined;
}

/** `~` and `~/x` mean the home folder, as Python's os.path.expanduser. */
export function expandUser(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return path;
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: Env = process.env): string {
  const home = nonEmpty(env.HF_HOME);
  if (home) return expandUser(home);
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return join(xdg ? expandUser(xdg) : join(homedir(), ".cache"), "huggingface");
}

/** $HF_HUB_CACHE, else the legacy $HUGGINGFACE_HUB_CACHE, else <HF_HOME>/hub. */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  return explicit ? expandUser(explicit) : join(hfHome(env), "hub");
}

/** $HF_ENDPOINT without a trailing slash, else https://huggingface.co. */
export function hubEndpoint(env: Env = process.env): string {
  return (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

/** HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1 / on / yes / true. */
export function isOfflineFromEnv(env: Env = process.env): boolean {
  const value = nonEmpty(env.HF_HUB_OFFLINE) ?? nonEmpty(env.TRANSFORMERS_OFFLINE);
  return value !== undefined && TRUE_VALUES.has(value.toUpperCase());
}

/** $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the file `huggingface-cli login` writes ($HF_TOKEN_PATH or <HF_HOME>/token). */
export function hubToken(env: Env = process.env): string | undefined {
  const fromEnv = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  if (fromEnv) return fromEnv.trim();
  const path = nonEmpty(env.HF_TOKEN_PATH) ? expandUser(env.HF_TOKEN_PATH as string) : join(hfHome(env), "token");
  if (!existsSync(path)) return undefined;
  const stored = readFileSync(path, "utf8").trim();
  return stored === "" ? undefined : stored;
}

/** A timeout in seconds from the environment (HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT), in milliseconds. */
export function timeoutFromEnv(name: string, fallbackMs: number, env: Env = process.env): number {
  const seconds = Number(nonEmpty(env[name]));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallbackMs;
}
