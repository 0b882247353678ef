/**
 * One or more input cases per registered op, for the backend conformance suite. A new op must add
 * its cases here: the suite fails on an op without one.
 * @module
 */
import type { Rng, Shape } from "@cnnlab/core";

/** Values of one input: a shape and how to fill it. */
export interface InputSpec {
  readonly shape: Shape;
  /** uniform in [−1, 1) by default; "positive" in [0.5, 2); "labels:K" integer classes < K; "spd"; "symmetric"; "distribution" rows summing to 1. */
  readonly fill?:
    | "positive"
    | `labels:${number}`
    | "spd"
    | "symmetric"
    | "distribution"
    | "distinct"
    | "halfstep";
  /** Not differentiated in the gradient check (labels, masks). */
  readonly constant?: boolean;
}

/** One conformance case. */
export interface OpCase {
  readonly inputs: readonly InputSpec[];
  readonly attrs: unknown;
  /** Skip the gradient comparison (kinks the check would straddle). */
  readonly noGrad?: boolean;
}

const pool = (k: number, s: number, p = 0) => ({ poolSize: [k, k], stride: [s, s], padding: [p, p] });
const conv = (s: number, p: number, d: number, g: number) => ({
  stride: [s, s],
  padding: [p, p],
  dilation: [d, d],
  groups: g,
});

/** Cases by op name. */
export const CASES: Readonly<Record<string, readonly OpCase[]>> = {
  add: [{ inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }], attrs: {} }, {
    inputs: [{ shape: [5] }, { shape: [5] }],
    attrs: {},
  }],
  sub: [{ inputs: [{ shape: [2, 3, 4] }, { shape: [1, 3, 1] }], attrs: {} }],
  mul: [{ inputs: [{ shape: [4, 3] }, { shape: [4, 3] }], attrs: {} }, {
    inputs: [{ shape: [2, 6, 3, 3] }, { shape: [1, 6, 1, 1] }],
    attrs: {},
  }],
  div: [{ inputs: [{ shape: [4, 3] }, { shape: [1, 3], fill: "positive" }], attrs: {} }],
  maximum: [{
    inputs: [{ shape: [4, 5], fill: "distinct" }, { shape: [4, 5], fill: "halfstep" }],
    attrs: {},
  }],
  greaterEqual: [{ inputs: [{ shape: [4, 5] }, { shape: [1, 5] }], attrs: {}, noGrad: true }],
  neg: [{ inputs: [{ shape: [7] }], attrs: {} }],
  exp: [{ inputs: [{ shape: [3, 4] }], attrs: {} }],
  log: [{ inputs: [{ shape: [3, 4], fill: "positive" }], attrs: {} }],
  sqrt: [{ inputs: [{ shape: [3, 4], fill: "positive" }], attrs: {} }],
  abs: [{ inputs: [{ shape: [3, 4], fill: "positive" }], attrs: {} }],
  sign: [{ inputs: [{ shape: [9] }], attrs: {}, noGrad: true }],
  scale: [{ inputs: [{ shape: [3, 4] }], attrs: { factor: -2.5 } }],
  addScalar: [{ inputs: [{ shape: [3, 4] }], attrs: { value: 0.75 } }],
  pow: [{ inputs: [{ shape: [3, 4], fill: "positive" }], attrs: { exponent: 2.5 } }, {
    inputs: [{ shape: [6] }],
    attrs: { exponent: 3 },
  }],
  sum: [
    { inputs: [{ shape: [2, 3, 4, 5] }], attrs: { axes: [0, 2, 3], keepDims: false } },
    { inputs: [{ shape: [3, 700] }], attrs: { axes: [1], keepDims: true } },
    { inputs: [{ shape: [4, 5] }], attrs: {} },
  ],
  max: [{ inputs: [{ shape: [3, 6], fill: "distinct" }], attrs: { axes: [1], keepDims: false } }],
  reshape: [{ inputs: [{ shape: [2, 3, 4] }], attrs: { shape: [6, -1] } }],
  transpose: [{ inputs: [{ shape: [2, 3, 4, 5] }], attrs: { perm: [0, 2, 3, 1] } }],
  broadcastTo: [{ inputs: [{ shape: [3, 1] }], attrs: { shape: [2, 3, 4] } }],
  matmul: [
    { inputs: [{ shape: [5, 7] }, { shape: [7, 3] }], attrs: {} },
    { inputs: [{ shape: [7, 5] }, { shape: [3, 7] }], attrs: { transposeA: true, transposeB: true } },
    { inputs: [{ shape: [33, 20] }, { shape: [20, 17] }], attrs: {} },
  ],
  conv2d: [
    { inputs: [{ shape: [2, 2, 7, 7] }, { shape: [4, 2, 3, 3] }], attrs: conv(1, 1, 1, 1) },
    { inputs: [{ shape: [1, 4, 9, 8] }, { shape: [6, 2, 3, 2] }], attrs: conv(2, 1, 2, 2) },
  ],
  conv2dBias: [
    { inputs: [{ shape: [2, 2, 7, 7] }, { shape: [4, 2, 3, 3] }, { shape: [4] }], attrs: conv(1, 1, 1, 1) },
    { inputs: [{ shape: [1, 4, 9, 8] }, { shape: [6, 2, 3, 2] }, { shape: [6] }], attrs: conv(2, 1, 2, 2) },
    // The fused ReLU: the row convolution (stride 1, ≤ 16 filters, rows ≥ 8) clamps in registers.
    // Central differences here would cross the kink; conv2d_op_test.ts checks these gradients away from it.
    {
      inputs: [{ shape: [2, 2, 10, 10] }, { shape: [4, 2, 3, 3] }, { shape: [4] }],
      attrs: { ...conv(1, 1, 1, 1), relu: true },
      noGrad: true,
    },
    {
      inputs: [{ shape: [1, 4, 9, 8] }, { shape: [6, 2, 3, 2] }, { shape: [6] }],
      attrs: { ...conv(2, 1, 2, 2), relu: true },
      noGrad: true,
    },
  ],
  conv2dBackpropInput: [
    {
      inputs: [{ shape: [2, 4, 7, 7] }, { shape: [4, 2, 3, 3] }],
      attrs: { ...conv(1, 1, 1, 1), inputShape: [2, 2, 7, 7] },
    },
    {
      inputs: [{ shape: [1, 6, 4, 4] }, { shape: [6, 2, 3, 2] }],
      attrs: { ...conv(2, 1, 2, 2), inputShape: [1, 4, 9, 8] },
    },
  ],
  conv2dBackpropFilter: [
    {
      inputs: [{ shape: [2, 2, 7, 7] }, { shape: [2, 4, 7, 7] }],
      attrs: { ...conv(1, 1, 1, 1), filterShape: [4, 2, 3, 3] },
    },
  ],
  maxPool2d: [{ inputs: [{ shape: [2, 3, 6, 6], fill: "distinct" }], attrs: pool(2, 2) }, {
    inputs: [{ shape: [1, 2, 7, 7], fill: "distinct" }],
    attrs: pool(3, 2, 1),
  }],
  maxPool2dBackward: [{
    inputs: [{ shape: [2, 3, 6, 6], fill: "distinct" }, { shape: [2, 3, 3, 3] }],
    attrs: pool(2, 2),
    noGrad: true,
  }],
  minPool2d: [{ inputs: [{ shape: [2, 3, 6, 6], fill: "distinct" }], attrs: pool(3, 1) }],
  minPool2dBackward: [{
    inputs: [{ shape: [2, 3, 6, 6], fill: "distinct" }, { shape: [2, 3, 4, 4] }],
    attrs: pool(3, 1),
    noGrad: true,
  }],
  avgPool2d: [{ inputs: [{ shape: [2, 3, 6, 6] }], attrs: pool(2, 2) }, {
    inputs: [{ shape: [1, 2, 7, 7] }],
    attrs: pool(3, 2, 1),
  }],
  avgPool2dBackward: [{
    inputs: [{ shape: [2, 3, 3, 3] }],
    attrs: { ...pool(2, 2), inputShape: [2, 3, 6, 6] },
  }],
  lpPool2d: [
    { inputs: [{ shape: [2, 3, 6, 6], fill: "positive" }], attrs: { ...pool(2, 2), p: 3, mean: false } },
    { inputs: [{ shape: [1, 2, 6, 6], fill: "positive" }], attrs: { ...pool(3, 1), p: 2, mean: true } },
  ],
  lpPool2dBackward: [{
    inputs: [{ shape: [1, 2, 4, 4], fill: "positive" }, { shape: [1, 2, 2, 2], fill: "positive" }, {
      shape: [1, 2, 2, 2],
    }],
    attrs: { ...pool(2, 2), p: 3, mean: false },
    noGrad: true,
  }],
  relu: [{ inputs: [{ shape: [3, 5], fill: "distinct" }], attrs: {} }],
  reluGrad: [{ inputs: [{ shape: [3, 5] }, { shape: [3, 5], fill: "distinct", constant: true }], attrs: {} }],
  leakyRelu: [{ inputs: [{ shape: [3, 5], fill: "distinct" }], attrs: { alpha: 0.1 } }],
  leakyReluGrad: [{
    inputs: [{ shape: [3, 5] }, { shape: [3, 5], fill: "distinct", constant: true }],
    attrs: { alpha: 0.1 },
  }],
  elu: [{ inputs: [{ shape: [3, 5], fill: "distinct" }], attrs: { alpha: 1 } }],
  eluGrad: [{ inputs: [{ shape: [3, 5] }, { shape: [3, 5], fill: "distinct" }], attrs: { alpha: 1 } }],
  prelu: [{ inputs: [{ shape: [2, 3, 4, 4], fill: "distinct" }, { shape: [3] }], attrs: {} }],
  preluGrad: [{
    inputs: [{ shape: [2, 3, 4, 4] }, { shape: [2, 3, 4, 4], fill: "distinct", constant: true }, {
      shape: [3],
    }],
    attrs: {},
  }],
  preluAlphaGrad: [{
    inputs: [{ shape: [2, 3, 4, 4] }, { shape: [2, 3, 4, 4], fill: "distinct", constant: true }],
    attrs: {},
  }],
  maxout: [{ inputs: [{ shape: [2, 6, 3, 3], fill: "distinct" }], attrs: { pieces: 3 } }],
  maxoutGrad: [{
    inputs: [{ shape: [2, 2, 3, 3] }, { shape: [2, 6, 3, 3], fill: "distinct", constant: true }],
    attrs: { pieces: 3 },
  }],
  softmaxCrossEntropy: [{
    inputs: [{ shape: [6, 5] }, { shape: [6], fill: "labels:5", constant: true }],
    attrs: {},
  }],
  softmaxCrossEntropyGrad: [{
    inputs: [{ shape: [6, 5] }, { shape: [6], fill: "labels:5", constant: true }, { shape: [] }],
    attrs: {},
  }],
  multiClassHinge: [
    {
      inputs: [{ shape: [6, 5], fill: "distinct" }, { shape: [6], fill: "labels:5", constant: true }],
      attrs: { p: 1 },
    },
    {
      inputs: [{ shape: [6, 5], fill: "distinct" }, { shape: [6], fill: "labels:5", constant: true }],
      attrs: { p: 2 },
    },
  ],
  multiClassHingeGrad: [{
    inputs: [{ shape: [6, 5], fill: "distinct" }, { shape: [6], fill: "labels:5", constant: true }, {
      shape: [],
    }],
    attrs: { p: 2 },
  }],
  klDivergence: [
    // Targets stay constant in the gradient check: a perturbed row is no longer a distribution.
    {
      inputs: [{ shape: [4, 5] }, { shape: [4, 5], fill: "distribution", constant: true }],
      attrs: { labelSmoothing: 0 },
    },
    {
      inputs: [{ shape: [4, 5] }, { shape: [4], fill: "labels:5", constant: true }],
      attrs: { labelSmoothing: 0.1 },
    },
  ],
  klDivergenceGrad: [{
    inputs: [{ shape: [4, 5] }, { shape: [4, 5], fill: "distribution", constant: true }, { shape: [] }],
    attrs: { labelSmoothing: 0 },
  }],
  generalizedEigenvalues: [{
    inputs: [{ shape: [4, 4], fill: "symmetric" }, { shape: [4, 4], fill: "spd" }],
    attrs: {},
  }],
  generalizedEigenvaluesGrad: [{
    inputs: [{ shape: [4, 4], fill: "symmetric" }, { shape: [4, 4], fill: "spd" }, { shape: [4] }],
    attrs: {},
    noGrad: true,
  }],
  momentUpdate: [
    {
      inputs: [{ shape: [3, 7] }, { shape: [3, 7] }, { shape: [3, 7] }],
      attrs: { decay: 0.9, gain: 0.1, power: 1, weightDecay: 0 },
      noGrad: true,
    },
    {
      inputs: [{ shape: [300] }, { shape: [300] }, { shape: [300] }],
      attrs: { decay: 0.999, gain: 0.001, power: 2, weightDecay: 0.01 },
      noGrad: true,
    },
  ],
  adamApply: [{
    inputs: [{ shape: [4, 9] }, { shape: [4, 9] }, { shape: [4, 9], fill: "positive" }],
    attrs: { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 3 },
    noGrad: true,
  }],
};

/**
 * Fills an input per its spec.
 *
 * @param spec The input spec.
 * @param rng Seeded RNG.
 * @returns The values.
 */
export function fillInput(spec: InputSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((p, d) => p * d, 1);
  const fill = spec.fill ?? "uniform";
  if (fill === "positive") return Float32Array.from({ length: n }, () => 0.5 + 1.5 * rng.next());
  if (fill.startsWith("labels:")) {
    const k = Number(fill.slice(7));
    return Float32Array.from({ length: n }, () => rng.int(k));
  }
  if (fill === "distinct" || fill === "halfstep") {
    // A shuffled grid: values 2/n apart, none near 0, so max/argmax and kinks are stable; "halfstep"
    // shifts the grid by half a step, so it never ties with a "distinct" input.
    const shift = fill === "halfstep" ? 1 / n : 0;
    const values = Array.from(
      { length: n },
      (_, i) => (i - n / 2 + 0.5) * (2 / n) + (i >= n / 2 ? 0.05 : -0.05) + shift,
    );
    return Float32Array.from(rng.shuffle(values));
  }
  if (fill === "symmetric" || fill === "spd") {
    const d = spec.shape[0];
    const a = Array.from({ length: d * d }, () => rng.next() * 2 - 1);
    const m = new Float32Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        if (fill === "symmetric") m[i * d + j] = (a[i * d + j] + a[j * d + i]) / 2 + (i === j ? i : 0);
        else {
          let s = 0;
          for (let k = 0; k < d; k++) s += a[i * d + k] * a[j * d + k];
          m[i * d + j] = s + (i === j ? 1 : 0);
        }
      }
    }
    return m;
  }
  if (fill === "distribution") {
    const k = spec.shape[spec.shape.length - 1];
    const v = Float32Array.from({ length: n }, () => 0.1 + rng.next());
    for (let r = 0; r < n / k; r++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += v[r * k + j];
      for (let j = 0; j < k; j++) v[r * k + j] /= s;
    }
    return v;
  }
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}
