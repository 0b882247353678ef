/**
 * CPU kernels of `generalizedEigenvalues` and `generalizedEigenvaluesGrad`.
 *
 * Design notes: both run the float64 host solver that the reference kernels use
 * (`generalized_eigen_solver.ts`): the matrices are `[d, d]` with d the embedding width (tens), so
 * a Cholesky and a few Jacobi sweeps cost microseconds, and float64 keeps the ill-conditioned
 * reduction accurate. There is nothing for `gemm` to speed up at this size. Tests check the
 * solver against independent algorithms (power iteration with deflation, characteristic polynomials).
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { eigenOuterSum, solveGeneralizedEigen } from "./generalized_eigen_solver.ts";

type NoAttrs = Record<string, never>;

/** CPU kernel of `generalizedEigenvalues`: ascending eigenvalues, rounded to float32. */
export const generalizedEigenvaluesCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "generalizedEigenvalues",
  backend: "cpu",
  run([sb, sw]) {
    return Float32Array.from(solveGeneralizedEigen(sb.storage, sw.storage, "generalizedEigenvalues").values);
  },
});

/** CPU kernel of `generalizedEigenvaluesGrad`: `V diag(w) Vᵀ`, rounded to float32. */
export const generalizedEigenvaluesGradCpu: Kernel<Float32Array, NoAttrs> = defineKernel<
  Float32Array,
  NoAttrs
>({
  op: "generalizedEigenvaluesGrad",
  backend: "cpu",
  run([sb, sw, w]) {
    const eigen = solveGeneralizedEigen(sb.storage, sw.storage, "generalizedEigenvaluesGrad");
    return Float32Array.from(eigenOuterSum(eigen, w.storage));
  },
});
