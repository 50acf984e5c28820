import { test } from "node:test";
import assert from "node:assert/strict";
import { LoomError } from "../../src/errors.js";
import { RotaryEmbedding } from "../../src/nn/rope.js";
import { ropeFrequencies, type RopeScaling } from "../../src/nn/rope-scaling.js";
import { maxAbsDiff, randomNormal, seededRandom } from "./helpers.js";

const headDim = 8, rotDim = 6, nHeads = 2;

/** Rotate-half RoPE of one row set, straight from the definition, at absolute positions. */
function rotated(x: Float32Array, positions: number[], invFreq: ArrayLike<number>, magnitude: number): Float32Array {
  const y = Float32Array.from(x);
  const half = rotDim / 2;
  positions.forEach((p, t) => {
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = Math.cos(p * invFreq[i]) * magnitude, s = Math.sin(p * invFreq[i]) * magnitude;
        y[o + i] = x[o + i] * c - x[o + i + half] * s;
        y[o + i + half] = x[o + i] * s + x[o + i + half] * c;
      }
    }
  });
  return y;
}

test("static scaling: tables grow across calls and include the attention factor (YaRN)", () => {
  const scaling: RopeScaling = { type: "yarn", factor: 4, originalMaxPositions: 32, betaFast: 32, betaSlow: 1, truncate: true, extFactor: 1, attentionFactor: 1.2 };
  const rope = new RotaryEmbedding({ rotDim, headDim, base: 10000, scaling, style: "neox" });
  const f = ropeFrequencies(rotDim, 10000, scaling);
  const rng = seededRandom(3);
  let worst = 0;
  for (const [start, n] of [[0, 5], [5, 1], [6, 300], [306, 2]]) {
    const x = randomNormal(n * nHeads * headDim, rng);
    const expected = rotated(x, Array.from({ length: n }, (_, t) => start + t), f.invFreq, 1.2);
    rope.apply(x, n, nHeads, start);
    worst = Math.max(worst, maxAbsDiff(x, expected));
  }
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});

test("dynamic NTK: frequencies follow the announced sequence length, as HF recomputes them per call", () => {
  const scaling: RopeScaling = { type: "dynamic", factor: 2, maxPositions: 16 };
  const rope = new RotaryEmbedding({ rotDim, headDim, base: 10000, scaling, style: "neox" });
  const rng = seededRandom(4);
  let worst = 0;
  for (const [start, n] of [[0, 10], [10, 4], [14, 10], [24, 1], [25, 1], [3, 2]]) {
    rope.setSequenceLength(start + n);
    const f = ropeFrequencies(rotDim, 10000, scaling, start + n);
    const x = randomNormal(n * nHeads * headDim, rng);
    const expected = rotated(x, Array.from({ length: n }, (_, t) => start + t), f.invFreq, 1);
    rope.apply(x, n, nHeads, start);
    worst = Math.max(worst, maxAbsDiff(x, expected));
  }
  assert.ok(worst < 1e-5, `max diff ${worst}`);
});

test("GGUF rope_freqs divisors apply after scaling; bad shapes are refused", () => {
  const factors = [1, 2, 8];
  const rope = new RotaryEmbedding({ rotDim, headDim, base: 500000, scaling: { type: "linear", factor: 2 }, style: "neox", freqFactors: factors });
  const f = ropeFrequencies(rotDim, 500000, { type: "linear", factor: 2 });
  assert.deepEqual(Array.from(rope.inverseFrequencies), Array.from(f.invFreq, (v, i) => v / factors[i]));
  assert.throws(() => new RotaryEmbedding({ rotDim, headDim, base: 10000, scaling: { type: "none" }, style: "neox", freqFactors: [1, 2] }), LoomError);
  assert.throws(() => new RotaryEmbedding({ rotDim: 10, headDim, base: 10000, scaling: { type: "none" }, style: "neox" }), LoomError);
});
