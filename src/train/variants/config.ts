import type { TrainModelConfig, Variant } from "../config.js";

// The block variants live beside the model they configure (../config.ts); re-exported for the experiments.
export { LLAMA_VARIANT, type MlpKind, type NormPlacement, type PositionKind, type Variant } from "../config.js";

/**
 * A model shape plus its block variant. hiddenDim is the MLP's inner width, whichever MLP; with
 * learned positions, maxSeqLen is the size of the position table.
 */
export interface VariantConfig extends TrainModelConfig {
  variant: Variant;
}
