/**
 * Normalizers: string → string rewrites applied before pre-tokenization, built from a
 * tokenizer.json `normalizer` config. Semantics follow the Rust `tokenizers` crate.
 */
import { asArray, asObject, fail, getBool, getOptString, getPattern, getString, getType, type JsonObject } from "./json.js";
import { compileOnigurumaPattern } from "./regex.js";
import { toByteLevel } from "./unicode.js";

export type Normalizer = (text: string) => string;

const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;
const MARKS = /\p{M}/gu;
const NONSPACING_MARKS = /\p{Mn}/gu;

/** Lowercases char by char like Rust's `char::to_lowercase` (no final-sigma rule, unlike JS). */
export function lowercaseCharwise(text: string): string {
  if (!text.includes("\u03a3")) return text.toLowerCase();
  let out = "";
  for (const ch of text) out += ch === "\u03a3" ? "\u03c3" : ch.toLowerCase();
  return out;
}

/** A replacement that treats `content` literally (no `$1` expansion). */
export function replaceAllPattern(text: string, pattern: RegExp | string, content: string): string {
  if (typeof pattern === "string") {
    if (pattern.length === 0) return text;
    return content.includes("$") ? text.replaceAll(pattern, () => content) : text.replaceAll(pattern, content);
  }
  pattern.lastIndex = 0;
  return text.replace(pattern, () => content);
}

export function compileReplacePattern(config: JsonObject, where: string): RegExp | string {
  const pattern = getPattern(config, "pattern", where);
  return pattern.kind === "string" ? pattern.value : compileOnigurumaPattern(pattern.value);
}

/** Chinese/Japanese/Korean ideograph blocks as BERT defines them. */
function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cn}]$/u;
const WHITESPACE_CHAR = /^\p{White_Space}$/u;

function bertNormalizer(config: JsonObject, where: string): Normalizer {
  const cleanText = getBool(config, "clean_text", where, true);
  const chinese = getBool(config, "handle_chinese_chars", where, true);
  const lowercase = getBool(config, "lowercase", where, true);
  const stripAccentsValue = config.strip_accents;
  const stripAccents = typeof stripAccentsValue === "boolean" ? stripAccentsValue : lowercase;
  return (text) => {
    let out = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cleanText) {
        if (cp === 0 || cp === 0xfffd) continue;
        if (ch !== "\t" && ch !== "\n" && ch !== "\r" && CONTROL.test(ch)) continue;
        if (WHITESPACE_CHAR.test(ch)) {
          out += " ";
          continue;
        }
      }
      out += chinese && isCjkIdeograph(cp) ? ` ${ch} ` : ch;
    }
    if (stripAccents) out = out.normalize("NFD").replace(NONSPACING_MARKS, "");
    if (lowercase) out = lowercaseCharwise(out);
    return out;
  };
}

export function buildNormalizer(config: unknown, where: string): Normalizer | undefined {
  if (config === null || config === undefined) return undefined;
  const obj = asObject(config, where);
  const type = getType(obj, where);
  switch (type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (text) => text.normalize(type);
    case "Lowercase":
      return lowercaseCharwise;
    case "Strip": {
      const left = getBool(obj, "strip_left", where, true);
      const right = getBool(obj, "strip_right", where, true);
      return (text) => {
        let out = text;
        if (left) out = out.replace(LEADING_SPACE, "");
        if (right) out = out.replace(TRAILING_SPACE, "");
        return out;
      };
    }
    case "StripAccents":
      return (text) => text.replace(MARKS, "");
    case "Replace": {
      const pattern = compileReplacePattern(obj, where);
      const content = getString(obj, "content", where);
      return (text) => replaceAllPattern(text, pattern, content);
    }
    case "Prepend": {
      const prefix = getString(obj, "prepend", where);
      return (text) => (text.length === 0 ? text : prefix + text);
    }
    case "Append": {
      const suffix = getString(obj, "append", where);
      return (text) => (text.length === 0 ? text : text + suffix);
    }
    case "ByteLevel":
      return toByteLevel;
    case "BertNormalizer":
      return bertNormalizer(obj, where);
    case "Precompiled": {
      // An empty charsmap is the identity; real ones need SentencePiece's trie (not implemented).
      const charsmap = getOptString(obj, "precompiled_charsmap", where);
      if (!charsmap) return undefined;
      return fail(where, "the Precompiled normalizer (SentencePiece charsmap) is not supported");
    }
    case "Sequence": {
      const parts = asArray(obj.normalizers, `${where}.normalizers`)
        .map((child, i) => buildNormalizer(child, `${where}.normalizers[${i}]`))
        .filter((n): n is Normalizer => n !== undefined);
      if (parts.length === 0) return undefined;
      if (parts.length === 1) return parts[0];
      return (text) => {
        let out = text;
        for (const part of parts) out = part(out);
        return out;
      };
    }
    default:
      return fail(`${where}.type`, `unknown normalizer type ${JSON.stringify(type)}`);
  }
}
