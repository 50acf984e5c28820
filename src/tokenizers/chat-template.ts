/**
 * Chat templates are Jinja programs shipped in tokenizer_config.json (or GGUF metadata); they are
 * rendered with @huggingface/jinja, with the variables transformers provides.
 */
import { Template } from "@huggingface/jinja";
import { LoomError } from "../errors.js";

const compiled = new Map<string, Template>();

export function renderChatTemplate(source: string, context: Record<string, unknown>): string {
  let template = compiled.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new LoomError(`chat template does not parse: ${(error as Error).message}`);
    }
    if (compiled.size > 16) compiled.clear();
    compiled.set(source, template);
  }
  try {
    return template.render(context);
  } catch (error) {
    throw new LoomError(`chat template failed: ${(error as Error).message}`);
  }
}
