// Owned by the weights work: dtype sizes, f16/bf16 conversion, dequantization of every block type.
export {};
