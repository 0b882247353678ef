/**
 * The `softmaxCrossEntropy` op (mean over the batch of −log softmax(logits)[label]) and its
 * gradient op `softmaxCrossEntropyGrad` ((softmax − onehot)/n · dy), with reference kernels.
 *
 * Design notes: the gradient is its own op rather than a composition of primitives, so a backend
 * computes it in one pass from the logits without materialising the softmax or a one-hot matrix.
 * The gradient op is itself differentiable with respect to the logits and `dy` (written in
 * primitives), so both ops pass the same central-difference checks. Labels are class indices
 * stored as float32; they carry no gradient.
 * @module
 */
import { defineOp, type OpDef, ops, runOp, type Shape, sizeOf, type Tensor } from "@cnnlab/core";
import { labelError } from "./_labels.ts";

function checkShapes(op: string, logits: Shape, labels: Shape): void {
  if (logits.length !== 2 || logits[0] < 1 || logits[1] < 1) {
    throw new TypeError(
      `Cannot apply ${op} as logits must be [batch, classes] with both at least 1: current shape is [${logits}]`,
    );
  }
  if (labels.length !== 1 || labels[0] !== logits[0]) {
    throw new TypeError(
      `Cannot apply ${op} as labels must be [batch] = [${
        logits[0]
      }] to match logits [${logits}]: current shape is [${labels}]`,
    );
  }
}

/**
 * `softmaxCrossEntropy(logits [n, k], labels [n])` → scalar `[]`: the mean over the batch of
 * `logsumexp(logits[i]) − logits[i, labels[i]]`. Differentiable with respect to the logits only.
 * Kernels throw a RangeError naming the loss and the label when a label is not an integer in `0..k−1`.
 */
export const softmaxCrossEntropyOp: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
  name: "softmaxCrossEntropy",
  inputs: ["logits", "labels"],
  outputShape([logits, labels]) {
    checkShapes("softmaxCrossEntropy", logits, labels);
    return [];
  },
  reference([x, labels], [[n, k]]) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= k) throw labelError("compute softmaxCrossEntropy", c, i, k);
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, x[i * k + j]);
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(x[i * k + j] - m);
      total += m + Math.log(s) - x[i * k + c];
    }
    return Float32Array.of(total / n);
  },
  grads: [({ dy, inputs: [logits, labels] }) => softmaxCrossEntropyGrad(logits, labels, dy), undefined],
});

/**
 * `softmaxCrossEntropyGrad(logits [n, k], labels [n], dy)` → `[n, k]`: the gradient of
 * `softmaxCrossEntropy` with respect to the logits, `(softmax(logits) − onehot(labels)) / n · dy`,
 * where `dy` holds one value (shape `[]` or `[1]`). Differentiable with respect to the logits and `dy`.
 */
export const softmaxCrossEntropyGradOp: OpDef<Record<string, never>> = defineOp<Record<string, never>>({
  name: "softmaxCrossEntropyGrad",
  inputs: ["logits", "labels", "dy"],
  outputShape([logits, labels, dy]) {
    checkShapes("softmaxCrossEntropyGrad", logits, labels);
    if (sizeOf(dy) !== 1) {
      throw new TypeError(
        `Cannot apply softmaxCrossEntropyGrad as dy must hold one value (the loss is a scalar): current shape is [${dy}]`,
      );
    }
    return logits;
  },
  reference([x, labels, dy], [[n, k]]) {
    const g = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= k) {
        throw labelError("compute the gradient of softmaxCrossEntropy", c, i, k);
      }
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, x[i * k + j]);
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(x[i * k + j] - m);
      for (let j = 0; j < k; j++) {
        const p = Math.exp(x[i * k + j] - m) / s;
        g[i * k + j] = (p - (j === c ? 1 : 0)) / n * dy[0];
      }
    }
    return g;
  },
  grads: [
    // d/dlogits Σ u·g = dy/n · (p⊙u − p·Σⱼ pⱼuⱼ), the softmax Jacobian applied to the upstream u.
    ({ dy: u, inputs: [logits, , dy] }) => {
      const n = logits.shape[0];
      const e = ops.exp(ops.sub(logits, ops.max(logits, { axes: [1], keepDims: true })));
      const p = ops.div(e, ops.sum(e, { axes: [1], keepDims: true }));
      const pu = ops.mul(p, u);
      const jvp = ops.sub(pu, ops.mul(p, ops.sum(pu, { axes: [1], keepDims: true })));
      return ops.mul(ops.scale(jvp, 1 / n), ops.reshape(dy, []));
    },
    undefined,
    // The op is linear in dy: d/ddy Σ u·g = Σ u·g(dy = 1).
    ({ dy: u, inputs: [logits, labels, dy] }) => {
      const unit = softmaxCrossEntropyGrad(logits, labels, dy.device.fill(dy.shape, 1));
      return ops.reshape(ops.sum(ops.mul(u, unit)), dy.shape);
    },
  ],
});

/**
 * Computes the mean softmax cross-entropy of logits against class labels (runs `softmaxCrossEntropyOp`).
 *
 * @param logits Scores `[batch, classes]`.
 * @param labels Class indices `[batch]`, stored as float32.
 * @returns The scalar loss (shape `[]`).
 * @throws {TypeError} If the shapes are not `[n, k]` and `[n]`.
 * @throws {RangeError} If a label is not an integer in `0..k−1` (raised by the kernel).
 * @example Uniform logits cost log(k)
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { softmaxCrossEntropyLoss } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const loss = softmaxCrossEntropyLoss(device.fill([2, 4], 0), device.tensor([1, 3], [2]));
 * assert.ok(Math.abs((await loss.item()) - Math.log(4)) < 1e-6);
 * ```
 */
export function softmaxCrossEntropyLoss(logits: Tensor, labels: Tensor): Tensor {
  return runOp(softmaxCrossEntropyOp, [logits, labels], {} as Record<string, never>);
}

/**
 * Computes the gradient of `softmaxCrossEntropyLoss` with respect to the logits (runs `softmaxCrossEntropyGradOp`).
 *
 * @param logits Scores `[batch, classes]`.
 * @param labels Class indices `[batch]`, stored as float32.
 * @param dy The upstream gradient of the scalar loss (one value).
 * @returns `(softmax(logits) − onehot(labels)) / batch · dy`, shaped like `logits`.
 * @throws {TypeError} If the shapes are not `[n, k]`, `[n]` and one value.
 * @throws {RangeError} If a label is not an integer in `0..k−1` (raised by the kernel).
 * @example Equal logits: softmax is uniform
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { softmaxCrossEntropyGrad } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const g = softmaxCrossEntropyGrad(device.fill([1, 2], 0), device.tensor([0], [1]), device.scalar(1));
 * assert.deepEqual([...await g.data()], [-0.5, 0.5]);
 * ```
 */
export function softmaxCrossEntropyGrad(logits: Tensor, labels: Tensor, dy: Tensor): Tensor {
  return runOp(softmaxCrossEntropyGradOp, [logits, labels, dy], {} as Record<string, never>);
}
