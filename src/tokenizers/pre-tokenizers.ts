/**
 * Pre-tokenizers cut normalized text into the pieces the model encodes one by one. They stream:
 * each stage calls `emit` per piece instead of building arrays, so a 10 MB input never becomes
 * millions of intermediate strings at once. Semantics follow the Rust `tokenizers` crate.
 */
import { asArray, asObject, fail, getBool, getOptString, getPattern, getString, getType, type JsonObject } from "./json.js";
import { GPT2_PATTERN, splitGpt2, type EmitRange } from "./gpt2-split.js";
import { LLAMA3_PATTERN, QWEN2_PATTERN, splitLlama3 } from "./llama3-split.js";
import { compileOnigurumaPattern, literalPattern } from "./regex.js";
import { replaceAllPattern } from "./normalizers.js";
import { toByteLevel } from "./unicode.js";

export type { EmitRange };

/**
 * Splits the piece text[start, end) and emits its pieces as ranges (of `text` or of a new string
 * the stage made). `atStart` says the piece begins at offset 0 of the whole input.
 */
export type PreTokenizer = (text: string, start: number, end: number, atStart: boolean, emit: EmitRange) => void;

export interface PreTokenizerPlan {
  preTokenize: PreTokenizer | undefined;
  /**
   * True when the last stage is ByteLevel: pieces come out as raw text and the model maps their
   * UTF-8 bytes to GPT-2's alphabet itself (so its word cache can key on the raw piece).
   */
  byteLevelPieces: boolean;
}

export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/** Enumerates non-empty, non-overlapping matches [start, end) in order. */
type MatchFinder = (text: string, onMatch: (start: number, end: number) => void) => void;

function regexFinder(regex: RegExp): MatchFinder {
  return (text, onMatch) => {
    regex.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = regex.exec(text)) !== null) {
      const start = m.index;
      const end = start + m[0].length;
      if (end === start) {
        // Skip empty matches one code point at a time.
        regex.lastIndex = end + (text.codePointAt(end)! > 0xffff ? 2 : 1);
        continue;
      }
      onMatch(start, end);
    }
  };
}

function charFinder(isDelimiter: (ch: string) => boolean): MatchFinder {
  return (text, onMatch) => {
    let i = 0;
    for (const ch of text) {
      if (isDelimiter(ch)) onMatch(i, i + ch.length);
      i += ch.length;
    }
  };
}

/**
 * Applies a split behaviour to the matches of `find`, emitting non-empty pieces in order.
 * `invert` treats matches as the pieces to keep and the gaps between them as delimiters.
 */
export function splitBy(text: string, find: MatchFinder, behavior: SplitBehavior, invert: boolean, emit: EmitRange): void {
  // Pending piece for the merging behaviours.
  let pendStart = -1;
  let pendEnd = -1;
  let pendMatch = false;
  let previousMatch = false;
  const flush = () => {
    if (pendStart >= 0 && pendEnd > pendStart) emit(text, pendStart, pendEnd);
    pendStart = -1;
  };
  const segment = (start: number, end: number, rawMatch: boolean) => {
    const isMatch = rawMatch !== invert;
    switch (behavior) {
      case "Removed":
        if (!isMatch) emit(text, start, end);
        return;
      case "Isolated":
        emit(text, start, end);
        return;
      case "MergedWithPrevious":
        if (isMatch && !previousMatch && pendStart >= 0) pendEnd = end;
        else {
          flush();
          pendStart = start;
          pendEnd = end;
        }
        previousMatch = isMatch;
        return;
      case "MergedWithNext":
        // A match waits for the piece after it; a following non-match absorbs it.
        if (isMatch) {
          flush();
          pendStart = start;
          pendEnd = end;
        } else if (pendStart >= 0) {
          pendEnd = end;
          flush();
        } else emit(text, start, end);
        return;
      case "Contiguous":
        if (pendStart >= 0 && isMatch === pendMatch) pendEnd = end;
        else {
          flush();
          pendStart = start;
          pendEnd = end;
          pendMatch = isMatch;
        }
        return;
    }
  };
  let last = 0;
  find(text, (start, end) => {
    if (start > last) segment(last, start, false);
    segment(start, end, true);
    last = end;
  });
  if (last < text.length) segment(last, text.length, false);
  flush();
}

function getBehavior(obj: JsonObject, where: string, fallback: SplitBehavior): SplitBehavior {
  const value = getOptString(obj, "behavior", where) ?? fallback;
  const known: SplitBehavior[] = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"];
  if (!known.includes(value as SplitBehavior)) fail(`${where}.behavior`, `unknown split behavior ${JSON.stringify(value)}`);
  return value as SplitBehavior;
}

const WHITESPACE_CHAR = /^\p{White_Space}$/u;
const PUNCTUATION_CHAR = /^[\p{P}!-\/:-@\[-`{-~]$/u;
const NUMERIC_CHAR = /^\p{N}$/u;
const WORD_OR_PUNCT = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

/** The piece as its own string (a no-op for a whole string). */
function substring(text: string, start: number, end: number): string {
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** A stage that only needs the piece as a string. */
function onPiece(split: (piece: string, atStart: boolean, emit: EmitRange) => void): PreTokenizer {
  return (text, start, end, atStart, emit) => split(substring(text, start, end), atStart, emit);
}

/** One stage. `mapBytes` says whether a ByteLevel stage must map its output itself. */
function buildStage(obj: JsonObject, where: string, mapBytes: boolean): PreTokenizer {
  const type = getType(obj, where);
  switch (type) {
    case "ByteLevel": {
      const addPrefixSpace = getBool(obj, "add_prefix_space", where, true);
      const useRegex = getBool(obj, "use_regex", where, true);
      const out = (emit: EmitRange): EmitRange =>
        mapBytes
          ? (text, start, end) => {
              const mapped = toByteLevel(text.slice(start, end));
              emit(mapped, 0, mapped.length);
            }
          : emit;
      return (text, start, end, _atStart, emit) => {
        if (addPrefixSpace && (end === start || text.charCodeAt(start) !== 0x20)) {
          text = " " + text.slice(start, end);
          start = 0;
          end = text.length;
        }
        if (useRegex) splitGpt2(text, start, end, out(emit));
        else out(emit)(text, start, end);
      };
    }
    case "Split": {
      const pattern = getPattern(obj, "pattern", where);
      const behavior = getBehavior(obj, where, "Isolated");
      const invert = getBool(obj, "invert", where, false);
      // The patterns real models ship get hand-written scanners (tested against the regexes).
      if (pattern.kind === "regex" && behavior === "Isolated" && !invert) {
        if (pattern.value === GPT2_PATTERN) return (text, start, end, _atStart, emit) => splitGpt2(text, start, end, emit);
        if (pattern.value === LLAMA3_PATTERN) return (text, start, end, _atStart, emit) => splitLlama3(text, start, end, 3, emit);
        if (pattern.value === QWEN2_PATTERN) return (text, start, end, _atStart, emit) => splitLlama3(text, start, end, 1, emit);
      }
      const regex = pattern.kind === "regex" ? compileOnigurumaPattern(pattern.value) : literalPattern(pattern.value);
      const find = pattern.kind === "string" && pattern.value.length === 0 ? () => {} : regexFinder(regex);
      return onPiece((piece, _atStart, emit) => splitBy(piece, find, behavior, invert, emit));
    }
    case "Digits": {
      const individual = getBool(obj, "individual_digits", where, false);
      const find = charFinder((ch) => NUMERIC_CHAR.test(ch));
      return onPiece((piece, _atStart, emit) => splitBy(piece, find, individual ? "Isolated" : "Contiguous", false, emit));
    }
    case "Metaspace": {
      const replacement = getString(obj, "replacement", where);
      let scheme = getOptString(obj, "prepend_scheme", where);
      if (scheme === undefined) scheme = getBool(obj, "add_prefix_space", where, true) ? "always" : "never";
      if (!["always", "first", "never"].includes(scheme)) fail(`${where}.prepend_scheme`, `unknown prepend scheme ${JSON.stringify(scheme)}`);
      const split = getBool(obj, "split", where, true);
      const find = regexFinder(literalPattern(replacement));
      return onPiece((piece, atStart, emit) => {
        let out = replaceAllPattern(piece, " ", replacement);
        if (!out.startsWith(replacement) && (scheme === "always" || (scheme === "first" && atStart))) out = replacement + out;
        if (split) splitBy(out, find, "MergedWithNext", false, emit);
        else if (out.length > 0) emit(out, 0, out.length);
      });
    }
    case "Whitespace":
      return onPiece((piece, _atStart, emit) => splitBy(piece, regexFinder(WORD_OR_PUNCT), "Removed", true, emit));
    case "WhitespaceSplit": {
      const find = charFinder((ch) => WHITESPACE_CHAR.test(ch));
      return onPiece((piece, _atStart, emit) => splitBy(piece, find, "Removed", false, emit));
    }
    case "CharDelimiterSplit": {
      const delimiter = getString(obj, "delimiter", where);
      const find = charFinder((ch) => ch === delimiter);
      return onPiece((piece, _atStart, emit) => splitBy(piece, find, "Removed", false, emit));
    }
    case "Punctuation": {
      const behavior = getBehavior(obj, where, "Isolated");
      const find = charFinder((ch) => PUNCTUATION_CHAR.test(ch));
      return onPiece((piece, _atStart, emit) => splitBy(piece, find, behavior, false, emit));
    }
    case "BertPreTokenizer": {
      const spaces = charFinder((ch) => WHITESPACE_CHAR.test(ch));
      const punct = charFinder((ch) => PUNCTUATION_CHAR.test(ch));
      return onPiece((piece, _atStart, emit) =>
        splitBy(piece, spaces, "Removed", false, (text, start, end) => splitBy(substring(text, start, end), punct, "Isolated", false, emit)),
      );
    }
    case "Sequence":
      return fail(where, "nested pre-tokenizer sequences are handled by buildPreTokenizer");
    default:
      return fail(`${where}.type`, `unknown pre-tokenizer type ${JSON.stringify(type)}`);
  }
}

/** Chains stages so each piece of one stage flows through the next; only the first piece keeps atStart. */
function chain(stages: PreTokenizer[]): PreTokenizer {
  return stages.reduceRight<PreTokenizer>(
    (rest, stage) => (text, start, end, atStart, emit) => {
      let first = atStart;
      stage(text, start, end, atStart, (piece, pieceStart, pieceEnd) => {
        rest(piece, pieceStart, pieceEnd, first, emit);
        first = false;
      });
    },
    (text, start, end, _atStart, emit) => emit(text, start, end),
  );
}

function flatten(config: unknown, where: string, out: { obj: JsonObject; where: string }[]): void {
  const obj = asObject(config, where);
  if (getType(obj, where) === "Sequence") {
    asArray(obj.pretokenizers, `${where}.pretokenizers`).forEach((child, i) => flatten(child, `${where}.pretokenizers[${i}]`, out));
  } else out.push({ obj, where });
}

export function buildPreTokenizer(config: unknown, where: string): PreTokenizerPlan {
  if (config === null || config === undefined) return { preTokenize: undefined, byteLevelPieces: false };
  const parts: { obj: JsonObject; where: string }[] = [];
  flatten(config, where, parts);
  if (parts.length === 0) return { preTokenize: undefined, byteLevelPieces: false };
  const lastIsByteLevel = getType(parts[parts.length - 1]!.obj, where) === "ByteLevel";
  const stages = parts.map((p, i) => buildStage(p.obj, p.where, !(lastIsByteLevel && i === parts.length - 1)));
  return { preTokenize: stages.length === 1 ? stages[0] : chain(stages), byteLevelPieces: lastIsByteLevel };
}
