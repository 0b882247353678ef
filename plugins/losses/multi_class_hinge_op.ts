/**
 * The `multiClassHinge` op, the multi-class SVM loss in its one-vs-rest form
 *
 *     L = (1/n) Σᵢ Σⱼ max(0, 1 − δ(yᵢ, j)·sᵢⱼ)^p,   δ = +1 for the true class, −1 otherwise,
 *
 * with `p` = 1 (`hingeL1`) or 2 (`hingeL2`), and its gradient op `multiClassHingeGrad`, with
 * reference kernels.
 *
 * Design notes: the gradient is its own op (one pass over the scores, no one-hot matrix). At the
 * kink (a margin `1 − δ·s` of exactly 0) both kernels use the subgradient 0. The gradient op is
 * itself differentiable with respect to the scores and `dy`: for p = 1 it is piecewise constant in
 * the scores (second derivative 0); for p = 2 its derivative is `2·dy/n` on the active margins,
 * whose mask is recovered from the p = 1 gradient (`(n·g₁)² = 1` where active), so no extra op is
 * needed. Labels are class indices stored as float32 and carry no gradient.
 * @module
 */
import { defineOp, type OpDef, ops, runOp, type Shape, sizeOf, type Tensor } from "@cnnlab/core";
import { labelError } from "./_labels.ts";

/** Attributes of `multiClassHinge` and `multiClassHingeGrad`: the exponent of each margin term. */
export interface MultiClassHingeAttrs {
  /** 1 for the plain hinge, 2 for the squared hinge. */
  readonly p: 1 | 2;
}

function checkShapes(op: string, scores: Shape, labels: Shape, attrs: MultiClassHingeAttrs): void {
  if (scores.length !== 2 || scores[0] < 1 || scores[1] < 1) {
    throw new TypeError(
      `Cannot apply ${op} as scores must be [batch, classes] with both at least 1: current shape is [${scores}]`,
    );
  }
  if (labels.length !== 1 || labels[0] !== scores[0]) {
    throw new TypeError(
      `Cannot apply ${op} as labels must be [batch] = [${
        scores[0]
      }] to match scores [${scores}]: current shape is [${labels}]`,
    );
  }
  if (attrs.p !== 1 && attrs.p !== 2) {
    throw new RangeError(`Cannot apply ${op}: attribute p is ${attrs.p}; use 1 (hinge) or 2 (squared hinge)`);
  }
}

/** The loss's name for messages: `hingeL1` or `hingeL2`. */
function lossName(p: number): string {
  return `hingeL${p}`;
}

/**
 * `multiClassHinge(scores [n, k], labels [n])` → scalar `[]`, attribute `{ p }`: the mean over the
 * batch of `Σⱼ max(0, 1 − δ(yᵢ, j)·sᵢⱼ)^p`. Differentiable with respect to the scores only.
 * Kernels throw a RangeError naming the loss (`hingeL1`/`hingeL2`) and the label when a label is
 * not an integer in `0..k−1`.
 */
export const multiClassHingeOp: OpDef<MultiClassHingeAttrs> = defineOp<MultiClassHingeAttrs>({
  name: "multiClassHinge",
  inputs: ["scores", "labels"],
  outputShape([scores, labels], attrs) {
    checkShapes("multiClassHinge", scores, labels, attrs);
    return [];
  },
  reference([s, labels], [[n, k]], { p }) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= k) throw labelError(`compute ${lossName(p)}`, c, i, k);
      for (let j = 0; j < k; j++) {
        const delta = j === c ? 1 : -1;
        total += Math.pow(Math.max(0, 1 - delta * s[i * k + j]), p);
      }
    }
    return Float32Array.of(total / n);
  },
  grads: [
    ({ dy, inputs: [scores, labels], attrs }) => multiClassHingeGrad(scores, labels, { dy, p: attrs.p }),
    undefined,
  ],
});

/**
 * `multiClassHingeGrad(scores [n, k], labels [n], dy)` → `[n, k]`, attribute `{ p }`: the gradient
 * of `multiClassHinge` with respect to the scores, `−δ·p·max(0, 1 − δ·s)^(p−1) / n · dy` where the
 * margin `1 − δ·s` is positive and 0 elsewhere (the kink included); `dy` holds one value.
 * Differentiable with respect to the scores and `dy`.
 */
export const multiClassHingeGradOp: OpDef<MultiClassHingeAttrs> = defineOp<MultiClassHingeAttrs>({
  name: "multiClassHingeGrad",
  inputs: ["scores", "labels", "dy"],
  outputShape([scores, labels, dy], attrs) {
    checkShapes("multiClassHingeGrad", scores, labels, attrs);
    if (sizeOf(dy) !== 1) {
      throw new TypeError(
        `Cannot apply multiClassHingeGrad as dy must hold one value (the loss is a scalar): current shape is [${dy}]`,
      );
    }
    return scores;
  },
  reference([s, labels, dy], [[n, k]], { p }) {
    const g = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= k) {
        throw labelError(`compute the gradient of ${lossName(p)}`, c, i, k);
      }
      for (let j = 0; j < k; j++) {
        const delta = j === c ? 1 : -1;
        const margin = 1 - delta * s[i * k + j];
        g[i * k + j] = margin > 0 ? -delta * p * Math.pow(margin, p - 1) / n * dy[0] : 0;
      }
    }
    return g;
  },
  grads: [
    // p = 1: piecewise constant in the scores. p = 2: d/ds Σ u·g = u · 2·dy/n on active margins.
    ({ dy: u, inputs: [scores, labels, dy], attrs }) => {
      if (attrs.p === 1) return scores.device.zeros(scores.shape);
      const n = scores.shape[0];
      const g1 = multiClassHingeGrad(scores, labels, { dy: dy.device.fill(dy.shape, 1), p: 1 });
      const active = ops.scale(ops.mul(g1, g1), n * n); // g₁ = ∓1/n where active, 0 elsewhere
      return ops.mul(ops.scale(ops.mul(u, active), 2 / n), ops.reshape(dy, []));
    },
    undefined,
    // The op is linear in dy: d/ddy Σ u·g = Σ u·g(dy = 1).
    ({ dy: u, inputs: [scores, labels, dy], attrs }) => {
      const unit = multiClassHingeGrad(scores, labels, { dy: dy.device.fill(dy.shape, 1), p: attrs.p });
      return ops.reshape(ops.sum(ops.mul(u, unit)), dy.shape);
    },
  ],
});

/**
 * Computes the multi-class hinge loss of scores against class labels (runs `multiClassHingeOp`).
 *
 * @param scores Class scores `[batch, classes]`.
 * @param labels Class indices `[batch]`, stored as float32.
 * @param attrs `{ p }`: 1 for the hinge, 2 for the squared hinge.
 * @returns The scalar loss (shape `[]`): `(1/n) Σᵢ Σⱼ max(0, 1 − δ(yᵢ, j)·sᵢⱼ)^p`.
 * @throws {TypeError} If the shapes are not `[n, k]` and `[n]`.
 * @throws {RangeError} If `p` is not 1 or 2, or (from the kernel) a label is not an integer in `0..k−1`.
 * @example All scores zero: every one of the k margins is 1
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { multiClassHingeLoss } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const loss = multiClassHingeLoss(device.fill([2, 4], 0), device.tensor([1, 3], [2]), { p: 2 });
 * assert.equal(await loss.item(), 4);
 * ```
 */
export function multiClassHingeLoss(scores: Tensor, labels: Tensor, attrs: MultiClassHingeAttrs): Tensor {
  return runOp(multiClassHingeOp, [scores, labels], { p: attrs.p });
}

/**
 * Computes the gradient of `multiClassHingeLoss` with respect to the scores (runs `multiClassHingeGradOp`).
 *
 * @param scores Class scores `[batch, classes]`.
 * @param labels Class indices `[batch]`, stored as float32.
 * @param options `dy`, the upstream gradient of the scalar loss (one value), and the exponent `p` (1 or 2).
 * @returns `−δ·p·max(0, 1 − δ·s)^(p−1) / n · dy` where the margin is positive, 0 elsewhere; shaped like `scores`.
 * @throws {TypeError} If the shapes are not `[n, k]`, `[n]` and one value.
 * @throws {RangeError} If `p` is not 1 or 2, or (from the kernel) a label is not an integer in `0..k−1`.
 * @example Only violated margins push: the true class up, the others down
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { multiClassHingeGrad } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const scores = device.tensor([0.5, -1, 0], [1, 3]); // label 0: margins 0.5, 0 (kink), 1
 * const g = multiClassHingeGrad(scores, device.tensor([0], [1]), { dy: device.scalar(1), p: 1 });
 * assert.deepEqual([...await g.data()], [-1, 0, 1]);
 * ```
 */
export function multiClassHingeGrad(
  scores: Tensor,
  labels: Tensor,
  options: { readonly dy: Tensor; readonly p: 1 | 2 },
): Tensor {
  return runOp(multiClassHingeGradOp, [scores, labels, options.dy], { p: options.p });
}
