/** Small helpers that turn parseArgs strings into checked numbers, with errors naming the flag. */
import { LoomError } from "../errors.js";

export function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new LoomError(`--${name} expects an integer, got '${value}'`);
  return n;
}

export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new LoomError(`--${name} expects a number, got '${value}'`);
  return n;
}

export function idListFlag(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((part) => {
    const n = Number(part.trim());
    if (part.trim() === "" || !Number.isInteger(n) || n < 0) throw new LoomError(`--${name} expects comma-separated token ids, got '${value}'`);
    return n;
  });
}
