/**
 * Decoders turn token strings back into text, as a chain over the list of token strings (the Rust
 * crate's `decode_chain`); the final text is their concatenation.
 */
import { asObject, fail, getArray, getBool, getInt, getOptString, getString, getType } from "./json.js";
import { compileReplacePattern, replaceAllPattern } from "./normalizers.js";
import { UNICODE_TO_BYTE, utf8DecodeLossy, utf8DecodeStrict, utf8Encode } from "./unicode.js";

export type Decoder = (tokens: string[]) => string[];

/** The bytes a byte-level token stands for; a token with foreign characters stands for its UTF-8. */
function byteLevelBytes(token: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < 512 ? UNICODE_TO_BYTE[c]! : -1;
    if (b < 0) return utf8Encode(token);
    bytes[i] = b;
  }
  return bytes;
}

export function byteLevelDecoder(): Decoder {
  const cache = new Map<string, Uint8Array>();
  return (tokens) => {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const token of tokens) {
      let bytes = cache.get(token);
      if (!bytes) {
        bytes = byteLevelBytes(token);
        if (cache.size < 200_000) cache.set(token, bytes);
      }
      parts.push(bytes);
      total += bytes.length;
    }
    const all = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    return [utf8DecodeLossy(all)];
  };
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** `<0xXX>` tokens become bytes; a run that is not valid UTF-8 becomes one U+FFFD per byte. */
export const byteFallbackDecoder: Decoder = (tokens) => {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = utf8DecodeStrict(Uint8Array.from(pending));
    if (text !== undefined) out.push(text);
    else for (let i = 0; i < pending.length; i++) out.push("\ufffd");
    pending = [];
  };
  for (const token of tokens) {
    const m = token.length === 6 ? BYTE_TOKEN.exec(token) : null;
    if (m) pending.push(parseInt(m[1]!, 16));
    else {
      flush();
      out.push(token);
    }
  }
  flush();
  return out;
};

export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

export function buildDecoder(config: unknown, where: string): Decoder | undefined {
  if (config === null || config === undefined) return undefined;
  const obj = asObject(config, where);
  const type = getType(obj, where);
  switch (type) {
    case "ByteLevel":
      return byteLevelDecoder();
    case "ByteFallback":
      return byteFallbackDecoder;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const content = getString(obj, "content", where);
      const start = getInt(obj, "start", where, 0);
      const stop = getInt(obj, "stop", where, 0);
      return (tokens) =>
        tokens.map((token) => {
          let from = 0;
          for (let k = 0; k < start && token.startsWith(content, from); k++) from += content.length;
          let to = token.length;
          for (let k = 0; k < stop && to - content.length >= from && token.endsWith(content, to); k++) to -= content.length;
          return from === 0 && to === token.length ? token : token.slice(from, to);
        });
    }
    case "Replace": {
      const pattern = compileReplacePattern(obj, where);
      const content = getString(obj, "content", where);
      return (tokens) => tokens.map((token) => replaceAllPattern(token, pattern, content));
    }
    case "Metaspace": {
      const replacement = getString(obj, "replacement", where);
      let scheme = getOptString(obj, "prepend_scheme", where);
      if (scheme === undefined) scheme = getBool(obj, "add_prefix_space", where, true) ? "always" : "never";
      const dropFirst = scheme !== "never";
      return (tokens) => tokens.map((token, i) => token.split(replacement).join(i === 0 && dropFirst ? "" : " "));
    }
    case "WordPiece": {
      const prefix = getOptString(obj, "prefix", where) ?? "##";
      const cleanup = getBool(obj, "cleanup", where, true);
      return (tokens) =>
        tokens.map((token, i) => {
          let out = i === 0 ? token : token.startsWith(prefix) ? token.slice(prefix.length) : " " + token;
          if (cleanup) out = cleanUpTokenizationSpaces(out);
          return out;
        });
    }
    case "BPEDecoder": {
      const suffix = getOptString(obj, "suffix", where) ?? "</w>";
      return (tokens) => tokens.map((token, i) => token.split(suffix).join(i === tokens.length - 1 ? "" : " "));
    }
    case "Sequence": {
      const parts = getArray(obj, "decoders", where)
        .map((child, i) => buildDecoder(child, `${where}.decoders[${i}]`))
        .filter((d): d is Decoder => d !== undefined);
      return (tokens) => parts.reduce((acc, part) => part(acc), tokens);
    }
    default:
      return fail(`${where}.type`, `unknown decoder type ${JSON.stringify(type)}`);
  }
}
