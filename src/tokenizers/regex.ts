/**
 * Translates the Oniguruma patterns that tokenizer.json files carry (the Rust library compiles them
 * with Oniguruma) into JavaScript `u`-mode regular expressions with the same meaning:
 *   - `(?i:…)` groups become explicit case classes (JS in Node 20 has no inline modifiers);
 *     Unicode simple case folding adds ſ (U+017F) to `s` and K (U+212A) to `k`, as Oniguruma does;
 *   - `\s`/`\S` mean White_Space (JS's `\s` adds U+FEFF and misses U+0085);
 *   - `\d` is \p{Nd} and `\w` is letters, marks, decimal digits and connector punctuation;
 *   - `\p{Han}`-style script names become `\p{Script=Han}`.
 * Constructs with no JS equivalent (possessive quantifiers, atomic groups, \G…) raise a LoomError.
 */
import { LoomError } from "../errors.js";

const WORD_CLASS_BODY = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

/** Extra characters that Unicode case folding equates with an ASCII letter. */
const FOLD_EXTRAS: Record<string, string> = { s: "\u017f", k: "\u212a" };

function isAsciiLetter(ch: string): boolean {
  return (ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z");
}

function foldedLetters(ch: string): string {
  const lower = ch.toLowerCase();
  return lower + lower.toUpperCase() + (FOLD_EXTRAS[lower] ?? "");
}

function propertyEscape(negated: boolean, name: string): string {
  let resolved = name;
  try {
    new RegExp(`\\p{${name}}`, "u");
  } catch {
    try {
      new RegExp(`\\p{Script=${name}}`, "u");
      resolved = `Script=${name}`;
    } catch {
      throw new LoomError(`tokenizer regex: unknown Unicode property \\p{${name}}`);
    }
  }
  return `\\${negated ? "P" : "p"}{${resolved}}`;
}

interface Scan {
  source: string;
  i: number;
}

/** Reads one escape at scan.i (which points at the backslash) and returns its JS form. */
function translateEscape(scan: Scan, inClass: boolean, ignoreCase: boolean): string {
  const { source } = scan;
  const next = source[scan.i + 1];
  if (next === undefined) throw new LoomError(`tokenizer regex /${source}/: pattern ends with a backslash`);
  scan.i += 2;
  switch (next) {
    case "s":
      return "\\p{White_Space}";
    case "S":
      return "\\P{White_Space}";
    case "d":
      return "\\p{Nd}";
    case "D":
      return "\\P{Nd}";
    case "w":
      return inClass ? WORD_CLASS_BODY : `[${WORD_CLASS_BODY}]`;
    case "W":
      if (inClass) throw new LoomError(`tokenizer regex /${source}/: \\W inside a character class is not supported`);
      return `[^${WORD_CLASS_BODY}]`;
    case "p":
    case "P": {
      const close = source.indexOf("}", scan.i);
      if (source[scan.i] !== "{" || close < 0) throw new LoomError(`tokenizer regex /${source}/: malformed \\${next} escape`);
      let name = source.slice(scan.i + 1, close);
      let negated = next === "P";
      if (name.startsWith("^")) {
        negated = !negated;
        name = name.slice(1);
      }
      scan.i = close + 1;
      return propertyEscape(negated, name);
    }
    case "A":
      if (inClass) break;
      return "(?<![\\s\\S])";
    case "z":
      if (inClass) break;
      return "(?![\\s\\S])";
    case "G":
    case "K":
    case "X":
    case "R":
    case "Z":
      throw new LoomError(`tokenizer regex /${source}/: \\${next} has no JavaScript equivalent`);
    case "h":
      return inClass ? "0-9A-Fa-f" : "[0-9A-Fa-f]";
    case "x": {
      if (source[scan.i] === "{") {
        const close = source.indexOf("}", scan.i);
        const hex = source.slice(scan.i + 1, close);
        scan.i = close + 1;
        return `\\u{${hex}}`;
      }
      const hex = source.slice(scan.i, scan.i + 2);
      scan.i += 2;
      return `\\x${hex}`;
    }
    default:
      break;
  }
  if (isAsciiLetter(next) && ignoreCase && !"nrtfvbBuc".includes(next)) {
    return inClass ? foldedLetters(next) : `[${foldedLetters(next)}]`;
  }
  if (next === "-") return inClass ? "\\-" : "-";
  // Identity escapes of punctuation are valid in u-mode only for syntax characters.
  if (!isAsciiLetter(next) && !/[0-9]/.test(next) && !"^$\\.*+?()[]{}|/-".includes(next)) {
    return next;
  }
  return `\\${next}`;
}

function translateClass(scan: Scan, ignoreCase: boolean): string {
  const { source } = scan;
  let out = "[";
  scan.i++;
  if (source[scan.i] === "^") {
    out += "^";
    scan.i++;
  }
  let first = true;
  while (scan.i < source.length) {
    const ch = source[scan.i]!;
    if (ch === "]" && !first) {
      scan.i++;
      return out + "]";
    }
    first = false;
    if (ch === "[") {
      if (source.startsWith("[:", scan.i)) throw new LoomError(`tokenizer regex /${source}/: POSIX bracket classes are not supported`);
      out += "\\[";
      scan.i++;
    } else if (ch === "\\") {
      out += translateEscape(scan, true, ignoreCase);
    } else if (ch === "&" && source[scan.i + 1] === "&") {
      throw new LoomError(`tokenizer regex /${source}/: class intersection (&&) is not supported`);
    } else if (ignoreCase && isAsciiLetter(ch)) {
      const lo = ch;
      if (source[scan.i + 1] === "-" && source[scan.i + 2] !== undefined && isAsciiLetter(source[scan.i + 2]!)) {
        const hi = source[scan.i + 2]!;
        out += `${lo.toLowerCase()}-${hi.toLowerCase()}${lo.toUpperCase()}-${hi.toUpperCase()}`;
        scan.i += 3;
      } else {
        out += foldedLetters(lo);
        scan.i++;
      }
    } else {
      // Characters that must be escaped inside a u-mode class.
      out += ch === "/" || ch === "|" || ch === "{" || ch === "}" || ch === "(" || ch === ")" ? `\\${ch}` : ch;
      scan.i += ch.length;
    }
  }
  throw new LoomError(`tokenizer regex /${source}/: unterminated character class`);
}

/** Returns the JS source of an Oniguruma pattern (see the file comment for what changes). */
export function translateOnigurumaPattern(source: string): string {
  const scan: Scan = { source, i: 0 };
  let out = "";
  // One entry per open group: whether it turned on case-insensitivity.
  const groups: boolean[] = [];
  let ignoreCase = false;
  while (scan.i < source.length) {
    const ch = source[scan.i]!;
    if (ch === "\\") {
      out += translateEscape(scan, false, ignoreCase);
    } else if (ch === "[") {
      out += translateClass(scan, ignoreCase);
    } else if (ch === "(") {
      if (source.startsWith("(?i:", scan.i)) {
        groups.push(ignoreCase);
        ignoreCase = true;
        out += "(?:";
        scan.i += 4;
      } else if (source.startsWith("(?>", scan.i)) {
        throw new LoomError(`tokenizer regex /${source}/: atomic groups (?>…) are not supported`);
      } else if (/^\(\?[imx-]+[:)]/.test(source.slice(scan.i, scan.i + 8))) {
        throw new LoomError(`tokenizer regex /${source}/: inline option groups other than (?i:…) are not supported`);
      } else {
        groups.push(ignoreCase);
        out += "(";
        scan.i++;
      }
    } else if (ch === ")") {
      ignoreCase = groups.pop() ?? false;
      out += ")";
      scan.i++;
    } else if ((ch === "+" || ch === "*" || ch === "?" || ch === "}") && source[scan.i + 1] === "+") {
      throw new LoomError(`tokenizer regex /${source}/: possessive quantifiers are not supported`);
    } else if (ignoreCase && isAsciiLetter(ch)) {
      out += `[${foldedLetters(ch)}]`;
      scan.i++;
    } else if (ch === ".") {
      out += "[^\\n]";
      scan.i++;
    } else {
      out += ch === "/" ? "\\/" : ch;
      scan.i++;
    }
  }
  return out;
}

/** Compiles an Oniguruma pattern to a global, Unicode-aware JS RegExp. */
export function compileOnigurumaPattern(source: string): RegExp {
  const translated = translateOnigurumaPattern(source);
  try {
    return new RegExp(translated, "gu");
  } catch (error) {
    throw new LoomError(`tokenizer regex /${source}/ cannot be compiled (as /${translated}/u): ${(error as Error).message}`);
  }
}

/** A global RegExp matching `text` literally. */
export function literalPattern(text: string): RegExp {
  return new RegExp(text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"), "gu");
}
