/**
 * CPU kernels for `softmaxCrossEntropy` and `softmaxCrossEntropyGrad`.
 *
 * Design notes: the forward kernel reads each row once, keeping a running maximum `m` and a
 * running sum `s = Σ exp(x − m)` that is rescaled whenever the maximum grows (the "online"
 * log-sum-exp): one exponential per element, no overflow for any finite logits. The gradient
 * kernel needs the log-sum-exp before it can write, so it makes that pass and then one writing pass.
 * Sums are accumulated in float64.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { labelError } from "./_labels.ts";
import { allocateZeros } from "@cnnlab/backend-cpu/memory";

/** Online log-sum-exp of `x[o .. o + k)`, k ≥ 1. */
function rowLogSumExp(x: Float32Array, o: number, k: number): number {
  let m = x[o], s = 1;
  for (let j = 1; j < k; j++) {
    const v = x[o + j];
    if (v > m) {
      s = s * Math.exp(m - v) + 1;
      m = v;
    } else {
      s += Math.exp(v - m);
    }
  }
  return m + Math.log(s);
}

/** CPU kernel of `softmaxCrossEntropy`: one pass per row. */
export const softmaxCrossEntropyCpu: Kernel<Float32Array, Record<string, never>> = defineKernel<
  Float32Array,
  Record<string, never>
>({
  op: "softmaxCrossEntropy",
  backend: "cpu",
  run([logits, labels]) {
    const [n, k] = logits.shape;
    const x = logits.storage, y = labels.storage;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = y[i];
      if (!(c >= 0 && c < k && Number.isInteger(c))) throw labelError("compute softmaxCrossEntropy", c, i, k);
      total += rowLogSumExp(x, i * k, k) - x[i * k + c];
    }
    return Float32Array.of(total / n);
  },
});

/** CPU kernel of `softmaxCrossEntropyGrad`: a log-sum-exp pass and a writing pass per row. */
export const softmaxCrossEntropyGradCpu: Kernel<Float32Array, Record<string, never>> = defineKernel<
  Float32Array,
  Record<string, never>
>({
  op: "softmaxCrossEntropyGrad",
  backend: "cpu",
  run([logits, labels, dy]) {
    const [n, k] = logits.shape;
    const x = logits.storage, y = labels.storage;
    const g = allocateZeros(n * k);
    const f = dy.storage[0] / n;
    for (let i = 0; i < n; i++) {
      const c = y[i];
      if (!(c >= 0 && c < k && Number.isInteger(c))) {
        throw labelError("compute the gradient of softmaxCrossEntropy", c, i, k);
      }
      const o = i * k;
      const lse = rowLogSumExp(x, o, k);
      for (let j = 0; j < k; j++) g[o + j] = Math.exp(x[o + j] - lse) * f;
      g[o + c] = (Math.exp(x[o + c] - lse) - 1) * f; // in float64, not after rounding to float32
    }
    return g;
  },
});

/** Every CPU kernel of this package. */
export const lossCpuKernels: readonly Kernel<Float32Array, Record<string, never>>[] = [
  softmaxCrossEntropyCpu,
  softmaxCrossEntropyGradCpu,
];
