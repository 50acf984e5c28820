/**
 * Small readers for tokenizer.json-style configs that fail with a LoomError naming the exact place
 * (`tokenizer.json: model.merges[3]`) and what was expected there.
 */
import { LoomError } from "../errors.js";

export type JsonObject = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

export function fail(where: string, message: string): never {
  throw new LoomError(`${where}: ${message}`);
}

export function asObject(value: unknown, where: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, `expected an object, got ${describe(value)}`);
  return value as JsonObject;
}

export function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, `expected an array, got ${describe(value)}`);
  return value;
}

export function getString(obj: JsonObject, key: string, where: string): string {
  const value = obj[key];
  if (typeof value !== "string") fail(`${where}.${key}`, `expected a string, got ${value === undefined ? "nothing" : describe(value)}`);
  return value;
}

/** A string field that may be missing or null. */
export function getOptString(obj: JsonObject, key: string, where: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") fail(`${where}.${key}`, `expected a string or null, got ${describe(value)}`);
  return value;
}

export function getBool(obj: JsonObject, key: string, where: string, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") fail(`${where}.${key}`, `expected true or false, got ${describe(value)}`);
  return value;
}

export function getInt(obj: JsonObject, key: string, where: string, fallback?: number): number {
  const value = obj[key];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value)) fail(`${where}.${key}`, `expected an integer, got ${value === undefined ? "nothing" : describe(value)}`);
  return value;
}

export function getArray(obj: JsonObject, key: string, where: string): unknown[] {
  const value = obj[key];
  if (!Array.isArray(value)) fail(`${where}.${key}`, `expected an array, got ${value === undefined ? "nothing" : describe(value)}`);
  return value;
}

export function getObject(obj: JsonObject, key: string, where: string): JsonObject {
  return asObject(obj[key], `${where}.${key}`);
}

/** The `type` tag of a component config. */
export function getType(obj: JsonObject, where: string): string {
  return getString(obj, "type", where);
}

/** A {"String": s} or {"Regex": r} pattern as tokenizer.json writes them. */
export type PatternSpec = { kind: "string"; value: string } | { kind: "regex"; value: string };

export function getPattern(obj: JsonObject, key: string, where: string): PatternSpec {
  const pattern = getObject(obj, key, where);
  if (typeof pattern.String === "string") return { kind: "string", value: pattern.String };
  if (typeof pattern.Regex === "string") return { kind: "regex", value: pattern.Regex };
  fail(`${where}.${key}`, `expected {"String": …} or {"Regex": …}, got keys ${JSON.stringify(Object.keys(pattern))}`);
}
