/**
 * The `generalizedEigenvalues` op (eigenvalues of `S_b v = λ S_w v`, ascending) and its gradient
 * op `generalizedEigenvaluesGrad`, with reference kernels.
 *
 * Design notes: for a simple eigenvalue with `S_w`-normalised eigenvector v (`vᵀ S_w v = 1`),
 * `∂λ/∂S_b = v vᵀ` and `∂λ/∂S_w = −λ v vᵀ`. So the two input gradients are `V diag(dλ) Vᵀ` and
 * `−V diag(dλ ⊙ λ) Vᵀ`: one gradient op, `V diag(w) Vᵀ`, serves both (the second with
 * `w = dλ ⊙ λ`, λ being the forward output). The gradient op recomputes the decomposition rather
 * than keeping V from the forward pass, so ops stay single-output and stateless; for the tiny
 * matrices of the LDA loss that costs microseconds. Both ops read only the symmetric parts of their
 * inputs, so the gradients are exact for unsymmetric perturbations too. Where eigenvalues repeat,
 * the gradient is defined only when `dλ` is equal across the repeated ones (as for the zero
 * eigenvalues the LDA loss ignores). The gradient op is not itself differentiable.
 * @module
 */
import { defineOp, type OpDef, ops, runOp, type Shape, type Tensor } from "@cnnlab/core";
import { eigenOuterSum, solveGeneralizedEigen } from "./generalized_eigen_solver.ts";

type NoAttrs = Record<string, never>;

function checkPair(op: string, sb: Shape, sw: Shape): number {
  const square = (s: Shape) => s.length === 2 && s[0] === s[1] && s[0] >= 1;
  if (!square(sb) || !square(sw) || sb[0] !== sw[0]) {
    throw new TypeError(
      `Cannot apply ${op} as sb and sw must be square [d, d] matrices of one size: current shapes are [${sb}] and [${sw}]`,
    );
  }
  return sb[0];
}

/**
 * `generalizedEigenvalues(sb [d, d], sw [d, d])` → `[d]`: the eigenvalues λ of `S_b v = λ S_w v`
 * in ascending order, for symmetric `S_b` and symmetric positive definite `S_w` (their symmetric
 * parts are used). Kernels throw a RangeError naming the op when `S_w` is not positive definite
 * or a value is not finite.
 */
export const generalizedEigenvaluesOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "generalizedEigenvalues",
  inputs: ["sb", "sw"],
  outputShape([sb, sw]) {
    return [checkPair("generalizedEigenvalues", sb, sw)];
  },
  reference([sb, sw]) {
    return Float32Array.from(solveGeneralizedEigen(sb, sw, "generalizedEigenvalues").values);
  },
  grads: [
    ({ dy, inputs: [sb, sw] }) => generalizedEigenvaluesGrad(sb, sw, dy),
    ({ dy, inputs: [sb, sw], output }) => generalizedEigenvaluesGrad(sb, sw, ops.neg(ops.mul(dy, output))),
  ],
});

/**
 * `generalizedEigenvaluesGrad(sb [d, d], sw [d, d], w [d])` → `[d, d]`: `V diag(w) Vᵀ`, where the
 * columns of V are the `S_w`-normalised eigenvectors of `S_b v = λ S_w v` in ascending order of λ.
 * With `w = dλ` it is the gradient with respect to `S_b`; with `w = −dλ ⊙ λ`, with respect to `S_w`.
 * Not differentiable itself.
 */
export const generalizedEigenvaluesGradOp: OpDef<NoAttrs> = defineOp<NoAttrs>({
  name: "generalizedEigenvaluesGrad",
  inputs: ["sb", "sw", "w"],
  outputShape([sb, sw, w]) {
    const d = checkPair("generalizedEigenvaluesGrad", sb, sw);
    if (w.length !== 1 || w[0] !== d) {
      throw new TypeError(
        `Cannot apply generalizedEigenvaluesGrad as w must be [${d}] (one weight per eigenvalue): current shape is [${w}]`,
      );
    }
    return [d, d];
  },
  reference([sb, sw, w]) {
    return Float32Array.from(eigenOuterSum(solveGeneralizedEigen(sb, sw, "generalizedEigenvaluesGrad"), w));
  },
});

/**
 * Computes the eigenvalues of `S_b v = λ S_w v` in ascending order (runs `generalizedEigenvaluesOp`);
 * differentiable with respect to both matrices.
 *
 * @param sb Symmetric `[d, d]`.
 * @param sw Symmetric positive definite `[d, d]`.
 * @returns λ `[d]`, ascending.
 * @throws {TypeError} If the shapes are not two `[d, d]`.
 * @throws {RangeError} If `S_w` is not positive definite or a value is not finite (raised by the kernel).
 * @example S_w = I gives the ordinary eigenvalues
 * ```ts
 * import { definePlugin, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { generalizedEigenvalues } from "./generalized_eigen.ts";
 * import { ldaKernels, ldaOps } from "./lda.ts";
 * import assert from "node:assert/strict";
 * const plugin = definePlugin({ name: "@doc/lda", version: "0.0.0", provides: { ops: ldaOps }, kernels: ldaKernels });
 * const device = await new Registry().use(cpu).use(plugin).device("cpu");
 * const lambda = generalizedEigenvalues(device.tensor([2, 1, 1, 2], [2, 2]), device.tensor([1, 0, 0, 1], [2, 2]));
 * assert.deepEqual([...await lambda.data()], [1, 3]);
 * ```
 */
export function generalizedEigenvalues(sb: Tensor, sw: Tensor): Tensor {
  return runOp(generalizedEigenvaluesOp, [sb, sw], {} as NoAttrs);
}

/**
 * Computes `V diag(w) Vᵀ` for the `S_w`-normalised eigenvectors V of `S_b v = λ S_w v` (runs
 * `generalizedEigenvaluesGradOp`): the gradient of `Σᵢ wᵢ λᵢ` with respect to `S_b`.
 *
 * @param sb Symmetric `[d, d]`.
 * @param sw Symmetric positive definite `[d, d]`.
 * @param w One weight per eigenvalue `[d]`, in ascending order of λ.
 * @returns `[d, d]`.
 * @throws {TypeError} If the shapes disagree.
 * @throws {RangeError} If `S_w` is not positive definite or a value is not finite (raised by the kernel).
 * @example The gradient of the largest eigenvalue of diag(1, 3)
 * ```ts
 * import { definePlugin, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { generalizedEigenvaluesGrad } from "./generalized_eigen.ts";
 * import { ldaKernels, ldaOps } from "./lda.ts";
 * import assert from "node:assert/strict";
 * const plugin = definePlugin({ name: "@doc/lda", version: "0.0.0", provides: { ops: ldaOps }, kernels: ldaKernels });
 * const device = await new Registry().use(cpu).use(plugin).device("cpu");
 * const eye = device.tensor([1, 0, 0, 1], [2, 2]);
 * const g = generalizedEigenvaluesGrad(device.tensor([1, 0, 0, 3], [2, 2]), eye, device.tensor([0, 1], [2]));
 * assert.deepEqual([...await g.data()], [0, 0, 0, 1]);
 * ```
 */
export function generalizedEigenvaluesGrad(sb: Tensor, sw: Tensor, w: Tensor): Tensor {
  return runOp(generalizedEigenvaluesGradOp, [sb, sw, w], {} as NoAttrs);
}

/** The ops of this file: the forward op and its gradient op. */
export const generalizedEigenOps: readonly OpDef<NoAttrs>[] = [
  generalizedEigenvaluesOp,
  generalizedEigenvaluesGradOp,
];
