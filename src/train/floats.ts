/**
 * Training buffers are Float32Array in real runs; the gradient checks run the very same op code on
 * Float64Array so that finite differences are accurate to ~1e-7 instead of ~1e-2.
 */
export type Floats = Float32Array | Float64Array;
