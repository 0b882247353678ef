/**
 * CPU kernels for `multiClassHinge` and `multiClassHingeGrad`.
 *
 * Design notes: one pass over the scores. Each row is walked as two plain loops around the label's
 * column (every other class has δ = −1, so its margin is `1 + s`), and the label's own term is added
 * once, so the inner loops hold no class test and no call. The exponent is chosen outside the loops
 * (p = 1 and p = 2 each have their own loop, no `Math.pow`). Sums are accumulated in float64.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { labelError } from "./_labels.ts";
import type { MultiClassHingeAttrs } from "./multi_class_hinge_op.ts";

/** Σ over `x[from .. to)` of `max(0, 1 + x)` (p = 1) or its square (p = 2). */
function negativeTerms(x: Float32Array, from: number, to: number, p: 1 | 2): number {
  let s = 0;
  if (p === 1) {
    for (let j = from; j < to; j++) {
      const m = 1 + x[j];
      if (m > 0) s += m;
    }
  } else {
    for (let j = from; j < to; j++) {
      const m = 1 + x[j];
      if (m > 0) s += m * m;
    }
  }
  return s;
}

/** Writes `f·p·max(0, 1 + x)^(p−1)` for `x[from .. to)` into `g` (0 where the margin is not positive). */
function negativeGrads(
  x: Float32Array,
  g: Float32Array,
  from: number,
  to: number,
  p: 1 | 2,
  f: number,
): void {
  if (p === 1) {
    for (let j = from; j < to; j++) g[j] = 1 + x[j] > 0 ? f : 0;
  } else {
    const f2 = 2 * f;
    for (let j = from; j < to; j++) {
      const m = 1 + x[j];
      g[j] = m > 0 ? f2 * m : 0;
    }
  }
}

/** CPU kernel of `multiClassHinge`: one pass over the scores. */
export const multiClassHingeCpu: Kernel<Float32Array, MultiClassHingeAttrs> = defineKernel<
  Float32Array,
  MultiClassHingeAttrs
>({
  op: "multiClassHinge",
  backend: "cpu",
  run([scores, labels], { p }) {
    const [n, k] = scores.shape;
    const x = scores.storage, y = labels.storage;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = y[i];
      if (!(c >= 0 && c < k && Number.isInteger(c))) throw labelError(`compute hingeL${p}`, c, i, k);
      const o = i * k;
      const m = 1 - x[o + c];
      total += negativeTerms(x, o, o + c, p) + negativeTerms(x, o + c + 1, o + k, p) +
        (m > 0 ? (p === 1 ? m : m * m) : 0);
    }
    return Float32Array.of(total / n);
  },
});

/** CPU kernel of `multiClassHingeGrad`: one writing pass over the scores. */
export const multiClassHingeGradCpu: Kernel<Float32Array, MultiClassHingeAttrs> = defineKernel<
  Float32Array,
  MultiClassHingeAttrs
>({
  op: "multiClassHingeGrad",
  backend: "cpu",
  run([scores, labels, dy], { p }) {
    const [n, k] = scores.shape;
    const x = scores.storage, y = labels.storage;
    const g = new Float32Array(n * k);
    const f = dy.storage[0] / n;
    for (let i = 0; i < n; i++) {
      const c = y[i];
      if (!(c >= 0 && c < k && Number.isInteger(c))) {
        throw labelError(`compute the gradient of hingeL${p}`, c, i, k);
      }
      const o = i * k;
      negativeGrads(x, g, o, o + c, p, f);
      negativeGrads(x, g, o + c + 1, o + k, p, f);
      const m = 1 - x[o + c];
      g[o + c] = m > 0 ? -(p === 1 ? f : 2 * f * m) : 0;
    }
    return g;
  },
});

/** Both CPU kernels of the multi-class hinge. */
export const hingeCpuKernels: readonly Kernel<Float32Array, MultiClassHingeAttrs>[] = [
  multiClassHingeCpu,
  multiClassHingeGradCpu,
];
