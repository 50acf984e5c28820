import { LoomError } from "../errors.js";
import type { MetaValue } from "../weights/source.js";

export type JsonObject = { [key: string]: unknown };

/**
 * Typed access to a model's hyperparameters — HF config.json fields or GGUF metadata keys — with
 * errors that name the file and the field. `key` may list alternatives (HF renamed several:
 * n_embd / hidden_size); the first present wins.
 */
export class ConfigFields {
  constructor(private readonly lookup: (key: string) => unknown, readonly origin: string) {}

  static fromJson(json: JsonObject, origin: string): ConfigFields {
    return new ConfigFields((key) => json[key], origin);
  }

  static fromMetadata(metadata: ReadonlyMap<string, MetaValue>, origin: string): ConfigFields {
    return new ConfigFields((key) => metadata.get(key), origin);
  }

  has(key: string | string[]): boolean {
    return this.find(key) !== undefined;
  }

  /** A positive integer (counts and sizes). */
  int(key: string | string[], fallback?: number): number {
    const value = this.number(key, fallback);
    if (!Number.isInteger(value) || value <= 0) {
      throw new LoomError(`${this.origin}: field "${names(key)}" must be a positive integer, got ${value}`);
    }
    return value;
  }

  number(key: string | string[], fallback?: number): number {
    const found = this.find(key);
    if (found === undefined) {
      if (fallback !== undefined) return fallback;
      throw new LoomError(`${this.origin}: missing required field "${names(key)}"`);
    }
    const value = typeof found.value === "bigint" ? Number(found.value) : found.value;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new LoomError(`${this.origin}: field "${found.key}" must be a number, got ${JSON.stringify(String(found.value))}`);
    }
    return value;
  }

  optionalInt(key: string | string[]): number | undefined {
    return this.has(key) ? this.int(key) : undefined;
  }

  optionalNumber(key: string | string[]): number | undefined {
    return this.has(key) ? this.number(key) : undefined;
  }

  string(key: string | string[], fallback?: string): string {
    const found = this.find(key);
    if (found === undefined) {
      if (fallback !== undefined) return fallback;
      throw new LoomError(`${this.origin}: missing required field "${names(key)}"`);
    }
    if (typeof found.value !== "string") {
      throw new LoomError(`${this.origin}: field "${found.key}" must be a string`);
    }
    return found.value;
  }

  boolean(key: string | string[], fallback: boolean): boolean {
    const found = this.find(key);
    if (found === undefined) return fallback;
    if (typeof found.value !== "boolean") throw new LoomError(`${this.origin}: field "${found.key}" must be true or false`);
    return found.value;
  }

  /** A token id or a list of them (HF eos_token_id may be either). */
  ids(key: string | string[]): number | number[] | undefined {
    const found = this.find(key);
    if (found === undefined) return undefined;
    const toId = (v: unknown) => (typeof v === "bigint" ? Number(v) : v);
    const value = toId(found.value);
    if (typeof value === "number" && Number.isInteger(value)) return value;
    if (Array.isArray(value)) {
      const list = value.map(toId);
      if (list.every((v) => typeof v === "number" && Number.isInteger(v))) return list as number[];
    }
    throw new LoomError(`${this.origin}: field "${found.key}" must be a token id or a list of ids`);
  }

  /** The raw value (objects such as rope_scaling). */
  raw(key: string): unknown {
    return this.lookup(key);
  }

  private find(key: string | string[]): { key: string; value: unknown } | undefined {
    for (const k of Array.isArray(key) ? key : [key]) {
      const value = this.lookup(k);
      if (value !== undefined && value !== null) return { key: k, value };
    }
    return undefined;
  }
}

function names(key: string | string[]): string {
  return Array.isArray(key) ? key.join('" or "') : key;
}

/** A single id from a field that may hold several (the first one). */
export function firstId(ids: number | number[] | undefined): number | undefined {
  return Array.isArray(ids) ? ids[0] : ids;
}
