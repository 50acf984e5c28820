import { TrainModel, type TrainModelOptions } from "../model.js";
import type { VariantConfig } from "./config.js";

export type VariantModelOptions = Omit<TrainModelOptions, "variant">;

/** The trainer's model built with the block that `config.variant` names (../model.ts runs every variant). */
export class VariantModel extends TrainModel {
  declare readonly config: VariantConfig;

  constructor(config: VariantConfig, options: VariantModelOptions) {
    super(config, { ...options, variant: config.variant });
  }
}
