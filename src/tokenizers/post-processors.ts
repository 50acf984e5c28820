/**
 * Post-processors add the special tokens around an encoded sequence (BOS/EOS, CLS/SEP) when
 * `addSpecialTokens` is on. Only single sequences are encoded by Loom, so only `single` templates
 * matter. ByteLevel's post-processing touches offsets only, never ids.
 */
import { asArray, asObject, fail, getArray, getObject, getType, type JsonObject } from "./json.js";

/** Returns the final ids for one encoded sequence. */
export type PostProcessor = (ids: number[], addSpecialTokens: boolean) => number[];

/** A template piece: a run of special-token ids, or the sequence itself. */
type TemplatePiece = { special: number[] } | { sequence: true };

function parseTemplate(pieces: unknown, specials: JsonObject, where: string): TemplatePiece[] {
  const items = typeof pieces === "string" ? pieces.split(/\s+/).filter((s) => s.length > 0) : asArray(pieces, where);
  return items.map((item, i): TemplatePiece => {
    const at = `${where}[${i}]`;
    let name: string;
    if (typeof item === "string") {
      const bare = item.replace(/:\d+$/, "");
      if (bare === "$A" || bare === "$" || bare === "$0") return { sequence: true };
      if (bare.startsWith("$")) fail(at, `sequence ${JSON.stringify(bare)} is not supported (single sequences only)`);
      name = bare;
    } else {
      const obj = asObject(item, at);
      if (obj.Sequence !== undefined) {
        const id = asObject(obj.Sequence, `${at}.Sequence`).id;
        if (id !== "A") fail(`${at}.Sequence.id`, `sequence ${JSON.stringify(id)} is not supported (single sequences only)`);
        return { sequence: true };
      }
      const special = getObject(obj, "SpecialToken", at);
      if (typeof special.id !== "string") fail(`${at}.SpecialToken.id`, "expected a string");
      name = special.id;
    }
    const entry = specials[name];
    if (entry === undefined) fail(at, `special token ${JSON.stringify(name)} is missing from special_tokens`);
    const ids = getArray(asObject(entry, `${where}.special_tokens.${name}`), "ids", `special_tokens.${name}`);
    return {
      special: ids.map((id, k) => {
        if (typeof id !== "number" || !Number.isInteger(id)) fail(`special_tokens.${name}.ids[${k}]`, "expected an integer");
        return id;
      }),
    };
  });
}

/** Surrounds the sequence with fixed special ids: [...before, ...ids, ...after]. */
export function wrapWith(before: readonly number[], after: readonly number[]): PostProcessor {
  return (ids, add) => (add && (before.length > 0 || after.length > 0) ? [...before, ...ids, ...after] : ids);
}

function idOfPair(value: unknown, where: string): number {
  const pair = asArray(value, where);
  const id = pair[1];
  if (typeof id !== "number" || !Number.isInteger(id)) fail(`${where}[1]`, "expected an integer id");
  return id;
}

export function buildPostProcessor(config: unknown, where: string): PostProcessor | undefined {
  if (config === null || config === undefined) return undefined;
  const obj = asObject(config, where);
  const type = getType(obj, where);
  switch (type) {
    case "TemplateProcessing": {
      const specials = obj.special_tokens === undefined ? {} : getObject(obj, "special_tokens", where);
      const template = parseTemplate(obj.single, specials, `${where}.single`);
      return (ids, add) => {
        if (!add) return ids;
        const out: number[] = [];
        for (const piece of template) {
          if ("sequence" in piece) for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
          else out.push(...piece.special);
        }
        return out;
      };
    }
    case "ByteLevel":
      return undefined;
    case "RobertaProcessing":
    case "BertProcessing":
      return wrapWith([idOfPair(obj.cls, `${where}.cls`)], [idOfPair(obj.sep, `${where}.sep`)]);
    case "Sequence": {
      const parts = getArray(obj, "processors", where)
        .map((child, i) => buildPostProcessor(child, `${where}.processors[${i}]`))
        .filter((p): p is PostProcessor => p !== undefined);
      if (parts.length === 0) return undefined;
      return (ids, add) => parts.reduce((acc, part) => part(acc, add), ids);
    }
    default:
      return fail(`${where}.type`, `unknown post-processor type ${JSON.stringify(type)}`);
  }
}
