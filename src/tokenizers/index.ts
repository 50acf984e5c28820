/** Loom's tokenizers: exact Hugging Face tokenization from tokenizer.json, HF folders and GGUF. */
export type { ChatMessage, ChatTemplateOptions, DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from "./types.js";
export { LoomTokenizer, type TokenizerSettings } from "./tokenizer.js";
export { loadTokenizer, readHfTokenizerFiles } from "./load.js";
export { tokenizerFromHfFiles, type HfTokenizerFiles } from "./hf.js";
export { tokenizerFromGGUFMetadata } from "./gguf.js";
export { ggufEntries, ggufMetadataFromHf } from "./gguf-convert.js";
export { gpt2TokenizerJson, parseMergesText } from "./gpt2-files.js";
