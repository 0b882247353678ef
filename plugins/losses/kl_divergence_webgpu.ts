/**
 * WebGPU kernels of `klDivergence` and `klDivergenceGrad`.
 *
 * Design notes: one workgroup per example reduces its row to the log-sum-exp of the logits and to
 * the sums of the smoothed targets `p' = (1 − ε)·p + ε/k`: `Σ p'·log p'`, `Σ p'·x` and `Σ p'`, so
 * the row loss is `Σ p'·log p' − Σ p'·x + (Σ p')·lse` (as in the CPU kernel) and a second
 * single-workgroup pass averages the rows. The gradient kernel writes `((Σ p')·q − p')·dy/n` for its
 * row right after its reductions. Class-index and distribution targets share one shader: params
 * word 2 says which (for class indices, `p` is the one-hot of `u32(label)`).
 *
 * No target is checked on WebGPU: kernels cannot read GPU values back to raise an error. Class
 * indices are not range-checked (an out-of-range or fractional label is the caller's
 * responsibility) and distribution rows are not checked for being non-negative and summing to 1
 * (a negative entry gives NaN, a row of another mass a loss of that mass). The CPU kernels check
 * both; the `klDivergence` loss checks host labels (`ctx.labels`) for class-index targets.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { f32bits } from "@cnnlab/backend-webgpu/dispatch";
import { meanOfRows, ROW_LANES, ROW_LOG_SUM_EXP, rowCode, runRows } from "./_rows_webgpu.ts";
import type { KlDivergenceAttrs } from "./kl_divergence_op.ts";

// params: [n, k, distributions (0 | 1), a = 1 − ε bits, b = ε/k bits]. `target(j)` is p'ⱼ of the row.
const TARGET = `
  let rows = params[2] == 1u;
  let a = bitcast<f32>(params[3]);
  let b = bitcast<f32>(params[4]);
  let c = select(u32(in1[row]), 0u, rows);`;
const target = "select(select(b, a + b, j == c), a * in1[o + j] + b, rows)";

// in0 logits [n, k], in1 targets [n] or [n, k]; out: one loss per row.
const lossCode = rowCode(
  2,
  `${ROW_LOG_SUM_EXP}${TARGET}
  var plogp = 0.0;
  var px = 0.0;
  var mass = 0.0;
  for (var j = lid; j < k; j += ${ROW_LANES}u) {
    let p = ${target};
    if (p > 0.0) { plogp += p * log(p); }
    px += p * in0[o + j];
    mass += p;
  }
  plogp = rowSum(plogp, lid);
  px = rowSum(px, lid);
  mass = rowSum(mass, lid);
  if (lid == 0u) { out[row] = plogp - px + mass * lse; }`,
);

// in0 logits, in1 targets, in2 dy; out [n, k].
const gradCode = rowCode(
  3,
  `${ROW_LOG_SUM_EXP}${TARGET}
  var mass = 0.0;
  for (var j = lid; j < k; j += ${ROW_LANES}u) { mass += ${target}; }
  mass = rowSum(mass, lid);
  let f = in2[0] / f32(n);
  for (var j = lid; j < k; j += ${ROW_LANES}u) {
    out[o + j] = (mass * exp(in0[o + j] - lse) - ${target}) * f;
  }`,
);

/** The parameter words after `[n, k]`: target form and the smoothing coefficients. */
function targetParams(targetRank: number, k: number, eps: number): number[] {
  return [targetRank === 2 ? 1 : 0, f32bits(1 - eps), f32bits(eps / k)];
}

/** WebGPU kernel of `klDivergence`: a row pass and a mean pass; targets are not checked. */
export const klDivergenceWebgpu: Kernel<GpuStorage, KlDivergenceAttrs> = defineKernel<
  GpuStorage,
  KlDivergenceAttrs
>({
  op: "klDivergence",
  backend: "webgpu",
  run([logits, targets], { labelSmoothing }, _outShape, backend) {
    const [n, k] = logits.shape;
    return meanOfRows(backend as unknown as WebGpuBackend, {
      op: "klDivergence",
      code: lossCode,
      inputs: [logits, targets],
      n,
      k,
      extra: targetParams(targets.shape.length, k, labelSmoothing),
    });
  },
});

/** WebGPU kernel of `klDivergenceGrad`: one row pass; targets are not checked. */
export const klDivergenceGradWebgpu: Kernel<GpuStorage, KlDivergenceAttrs> = defineKernel<
  GpuStorage,
  KlDivergenceAttrs
>({
  op: "klDivergenceGrad",
  backend: "webgpu",
  run([logits, targets, dy], { labelSmoothing }, _outShape, backend) {
    const [n, k] = logits.shape;
    return runRows(backend as unknown as WebGpuBackend, {
      op: "klDivergenceGrad",
      code: gradCode,
      inputs: [logits, targets, dy],
      outputSize: n * k,
      n,
      k,
      extra: targetParams(targets.shape.length, k, labelSmoothing),
    });
  },
});

/** Both WebGPU kernels of the KL divergence. */
export const klDivergenceWebgpuKernels: readonly Kernel<GpuStorage, KlDivergenceAttrs>[] = [
  klDivergenceWebgpu,
  klDivergenceGradWebgpu,
];
