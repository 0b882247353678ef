/**
 * Op `adamApply`: Adam's parameter step `p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)` in one pass,
 * from the already updated moments `m` and `v`, instead of six allocating elementwise ops.
 *
 * The CPU kernel rounds to float32 after every operation in the order of the composition it
 * replaces (`sub(p, scale(div(m, addScalar(scale(sqrt(v), 1/√c2), ε)), lr/c1))`), so it gives
 * bit-for-bit the numbers the composition gave.
 * @module
 */
import { defineKernel, defineOp, type Kernel, type OpDef, runOp, type Tensor } from "@cnnlab/core";
import { allocate } from "@cnnlab/backend-cpu/memory";

/** Attributes of `adamApply`. */
export interface AdamApplyAttrs {
  /** Learning rate in force. */
  readonly lr: number;
  /** Decay of the first moment (for the bias correction `1 − β1ᵗ`). */
  readonly beta1: number;
  /** Decay of the second moment (for the bias correction `1 − β2ᵗ`). */
  readonly beta2: number;
  /** Added to the corrected `√v`. */
  readonly epsilon: number;
  /** The step number t, from 1. */
  readonly step: number;
}

/**
 * The two factors of the step: `lr / (1 − β1ᵗ)` on `m / denominator` and `1 / √(1 − β2ᵗ)` on `√v`.
 *
 * @param attrs The op's attributes.
 * @returns `[stepFactor, rootFactor]`, computed as the composition computed them.
 */
export function adamFactors({ lr, beta1, beta2, step }: AdamApplyAttrs): [number, number] {
  const correction1 = 1 - Math.pow(beta1, step), correction2 = 1 - Math.pow(beta2, step);
  return [lr / correction1, 1 / Math.sqrt(correction2)];
}

function checkAttrs(attrs: AdamApplyAttrs): void {
  const { lr, beta1, beta2, epsilon, step } = attrs;
  const ok = lr > 0 && Number.isFinite(lr) && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 &&
    epsilon > 0 && Number.isFinite(epsilon) && Number.isInteger(step) && step >= 1;
  if (!ok) {
    throw new RangeError(
      `Cannot run op "adamApply": lr and epsilon must be positive, beta1 and beta2 in [0, 1) and step an integer ≥ 1, got ${
        JSON.stringify(attrs)
      }`,
    );
  }
}

/**
 * Op `adamApply`: inputs `(p, m, v)` of one shape (the parameter and its updated moments); output
 * the new parameter. Not differentiable: optimizers run it under `noGrad`.
 */
export const adamApplyOp: OpDef<AdamApplyAttrs> = defineOp<AdamApplyAttrs>({
  name: "adamApply",
  inputs: ["p", "m", "v"],
  outputShape: ([p, m, v], attrs) => {
    checkAttrs(attrs);
    const same = (a: readonly number[], b: readonly number[]) =>
      a.length === b.length && a.every((d, i) => d === b[i]);
    if (!same(p, m) || !same(p, v)) {
      throw new TypeError(
        `Cannot run op "adamApply" as p, m and v must share one shape: they are [${p}], [${m}] and [${v}]`,
      );
    }
    return p;
  },
  reference: ([p, m, v], _shapes, { lr, beta1, beta2, epsilon, step }) => {
    const mHat = (i: number) => m[i] / (1 - Math.pow(beta1, step));
    const vHat = (i: number) => v[i] / (1 - Math.pow(beta2, step));
    return p.map((w, i) => w - (lr * mHat(i)) / (Math.sqrt(vHat(i)) + epsilon));
  },
});

/**
 * Applies Adam's bias-corrected step to a parameter, in one op.
 *
 * @param inputs `[p, m, v]`: the parameter and its first and second moments, already updated for
 *   this step, all of one shape.
 * @param attrs Learning rate, decays, epsilon and the step number.
 * @returns The new parameter values (a new tensor; assign it to `p`).
 * @throws {TypeError} If the shapes differ.
 * @throws {RangeError} If an attribute is out of range.
 * @example The first step moves by about lr against the gradient's sign
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import optimizers, { adamApply } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(optimizers).device("cpu");
 * // After one step with g = [5, −0.5]: m = 0.1·g, v = 0.001·g².
 * const p = adamApply(
 *   [device.tensor([1, 1], [2]), device.tensor([0.5, -0.05], [2]), device.tensor([0.025, 0.00025], [2])],
 *   { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1 },
 * );
 * assert.deepEqual([...p.dataSync()].map((x) => x.toFixed(4)), ["0.9000", "1.1000"]);
 * ```
 */
export function adamApply(inputs: readonly [p: Tensor, m: Tensor, v: Tensor], attrs: AdamApplyAttrs): Tensor {
  return runOp(adamApplyOp, inputs, attrs);
}

const fround = Math.fround;

/** CPU kernel of `adamApply`: one pass, rounded like the composition it replaces. */
export const adamApplyCpu: Kernel<Float32Array, AdamApplyAttrs> = defineKernel<Float32Array, AdamApplyAttrs>({
  op: "adamApply",
  backend: "cpu",
  run([{ storage: p }, { storage: m }, { storage: v }], attrs) {
    const [stepFactor, rootFactor] = adamFactors(attrs);
    const epsilon = attrs.epsilon, n = p.length, out = allocate(n);
    for (let i = 0; i < n; i++) {
      const denominator = fround(fround(fround(Math.sqrt(v[i])) * rootFactor) + epsilon);
      out[i] = p[i] - fround(fround(m[i] / denominator) * stepFactor);
    }
    return out;
  },
});
