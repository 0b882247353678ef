/**
 * CPU kernels for `klDivergence` and `klDivergenceGrad`.
 *
 * Design notes: with `log q = x − lse` the row loss expands to
 * `Σ p'·log p' − Σ p'·x + (Σ p')·lse`, so the forward kernel reads each row once, keeping an online
 * log-sum-exp (a running maximum and a rescaled sum, as in `softmaxCrossEntropy`) next to the three
 * target sums, and checks the row as it goes. For class-index targets the smoothed one-hot
 * `p' = (1 − ε)·onehot + ε/k` makes `Σ p'·log p'` one constant for the whole batch and
 * `Σ p'·x = (1 − ε)·x_label + (ε/k)·Σ x`, so a row costs one exponential per element and no log.
 * The gradient kernel needs the log-sum-exp before it can write: one reading pass, one writing pass.
 * Sums are accumulated in float64.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { labelError } from "./_labels.ts";
import { DISTRIBUTION_TOLERANCE, distributionError } from "./_targets.ts";
import type { KlDivergenceAttrs } from "./kl_divergence_op.ts";

/** `v·log v` with `0·log 0 = 0`. */
function xlogx(v: number): number {
  return v > 0 ? v * Math.log(v) : 0;
}

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

/** Checks row `i` of `[n, k]` targets and returns its raw sum. */
function checkedRowSum(t: Float32Array, o: number, k: number, i: number, action: string): number {
  let total = 0;
  for (let j = 0; j < k; j++) {
    const v = t[o + j];
    if (!(v >= 0)) throw distributionError(action, i, `entry ${j} is ${v}`);
    total += v;
  }
  if (!(Math.abs(total - 1) <= DISTRIBUTION_TOLERANCE)) {
    throw distributionError(action, i, `it sums to ${total}`);
  }
  return total;
}

/** CPU kernel of `klDivergence`: one pass per row. */
export const klDivergenceCpu: Kernel<Float32Array, KlDivergenceAttrs> = defineKernel<
  Float32Array,
  KlDivergenceAttrs
>({
  op: "klDivergence",
  backend: "cpu",
  run([logits, targets], { labelSmoothing: eps }) {
    const [n, k] = logits.shape;
    const x = logits.storage, t = targets.storage;
    const a = 1 - eps, b = eps / k; // p' = a·p + b
    let total = 0;
    if (targets.shape.length === 1) {
      const negEntropy = xlogx(a + b) + (k - 1) * xlogx(b);
      for (let i = 0; i < n; i++) {
        const c = t[i];
        if (!(c >= 0 && c < k && Number.isInteger(c))) throw labelError("compute klDivergence", c, i, k);
        const o = i * k;
        let m = x[o], s = 1, sx = x[o];
        for (let j = 1; j < k; j++) {
          const v = x[o + j];
          sx += v;
          if (v > m) {
            s = s * Math.exp(m - v) + 1;
            m = v;
          } else {
            s += Math.exp(v - m);
          }
        }
        total += negEntropy - a * x[o + c] - b * sx + m + Math.log(s);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const o = i * k;
        let m = x[o], s = 0, raw = 0, mass = 0, px = 0, plogp = 0;
        for (let j = 0; j < k; j++) {
          const v = x[o + j], r = t[o + j];
          if (!(r >= 0)) throw distributionError("compute klDivergence", i, `entry ${j} is ${r}`);
          raw += r;
          const p = a * r + b;
          mass += p;
          px += p * v;
          if (p > 0) plogp += p * Math.log(p);
          if (v > m) {
            s = s * Math.exp(m - v) + 1;
            m = v;
          } else {
            s += Math.exp(v - m);
          }
        }
        if (!(Math.abs(raw - 1) <= DISTRIBUTION_TOLERANCE)) {
          throw distributionError("compute klDivergence", i, `it sums to ${raw}`);
        }
        total += plogp - px + mass * (m + Math.log(s));
      }
    }
    return Float32Array.of(total / n);
  },
});

/** CPU kernel of `klDivergenceGrad`: a log-sum-exp pass (checking the targets) and a writing pass per row. */
export const klDivergenceGradCpu: Kernel<Float32Array, KlDivergenceAttrs> = defineKernel<
  Float32Array,
  KlDivergenceAttrs
>({
  op: "klDivergenceGrad",
  backend: "cpu",
  run([logits, targets, dy], { labelSmoothing: eps }) {
    const [n, k] = logits.shape;
    const x = logits.storage, t = targets.storage;
    const a = 1 - eps, b = eps / k;
    const f = dy.storage[0] / n;
    const g = new Float32Array(n * k);
    const action = "compute the gradient of klDivergence";
    if (targets.shape.length === 1) {
      for (let i = 0; i < n; i++) {
        const c = t[i];
        if (!(c >= 0 && c < k && Number.isInteger(c))) throw labelError(action, c, i, k);
        const o = i * k;
        const lse = rowLogSumExp(x, o, k);
        for (let j = 0; j < k; j++) g[o + j] = (Math.exp(x[o + j] - lse) - b) * f;
        g[o + c] = (Math.exp(x[o + c] - lse) - a - b) * f; // in float64, not after rounding to float32
      }
    } else {
      for (let i = 0; i < n; i++) {
        const o = i * k;
        const mass = a * checkedRowSum(t, o, k, i, action) + eps; // Σⱼ (a·pⱼ + b)
        const lse = rowLogSumExp(x, o, k);
        for (let j = 0; j < k; j++) g[o + j] = (mass * Math.exp(x[o + j] - lse) - (a * t[o + j] + b)) * f;
      }
    }
    return g;
  },
});

/** Both CPU kernels of the KL divergence. */
export const klDivergenceCpuKernels: readonly Kernel<Float32Array, KlDivergenceAttrs>[] = [
  klDivergenceCpu,
  klDivergenceGradCpu,
];
