/** The face most users see: AutoTokenizer, AutoModelForCausalLM and pipeline, as in transformers. */
export { AutoTokenizer, downloadTokenizerFiles, type AutoTokenizerOptions } from "./auto-tokenizer.js";
export {
  AutoModelForCausalLM,
  PreTrainedModel,
  type AutoModelOptions,
  type GenerateOutput,
  type ModelGenerateOptions,
  type StreamOptions,
} from "./auto-model.js";
export {
  pipeline,
  SUPPORTED_TASKS,
  type GeneratedChat,
  type GeneratedIds,
  type GeneratedText,
  type PipelineInput,
  type PipelineOptions,
  type PipelineOutput,
  type Task,
  type TextGenerationCallOptions,
  type TextGenerationPipeline,
} from "./pipeline.js";
