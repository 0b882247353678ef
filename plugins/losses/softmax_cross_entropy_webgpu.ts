/**
 * WebGPU kernels of `softmaxCrossEntropy` and `softmaxCrossEntropyGrad`.
 *
 * Design notes: one workgroup per example reduces its row to the log-sum-exp (a max pass, then a
 * sum of shifted exponentials, so any finite logits are safe); the forward kernel writes each row's
 * `lse − x[label]` and a second single-workgroup pass averages them; the gradient kernel writes
 * `(exp(x − lse) − onehot)·dy/n` for its row right after its reduction. `dy` is read on the GPU.
 *
 * Labels are float class indices read as `u32(label)` with NO range check: kernels cannot read GPU
 * values back to raise an error, so on WebGPU an out-of-range or fractional label is the caller's
 * responsibility (it reads a wrong logit, not out-of-bounds memory: WebGPU clamps accesses). The
 * CPU kernels check every label; the `softmaxCrossEntropy` loss checks host labels (`ctx.labels`).
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { meanOfRows, ROW_LANES, ROW_LOG_SUM_EXP, rowCode, runRows } from "./_rows_webgpu.ts";

type NoAttrs = Record<string, never>;

// in0 logits [n, k], in1 labels [n]; out: one loss per row.
const lossCode = rowCode(
  2,
  `${ROW_LOG_SUM_EXP}
  if (lid == 0u) { out[row] = lse - in0[o + u32(in1[row])]; }`,
);

// in0 logits, in1 labels, in2 dy; out [n, k].
const gradCode = rowCode(
  3,
  `${ROW_LOG_SUM_EXP}
  let c = u32(in1[row]);
  let f = in2[0] / f32(n);
  for (var j = lid; j < k; j += ${ROW_LANES}u) {
    out[o + j] = (exp(in0[o + j] - lse) - select(0.0, 1.0, j == c)) * f;
  }`,
);

/** WebGPU kernel of `softmaxCrossEntropy`: a row pass and a mean pass; labels are not range-checked. */
export const softmaxCrossEntropyWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "softmaxCrossEntropy",
  backend: "webgpu",
  run([logits, labels], _attrs, _outShape, backend) {
    const [n, k] = logits.shape;
    return meanOfRows(backend as unknown as WebGpuBackend, {
      op: "softmaxCrossEntropy",
      code: lossCode,
      inputs: [logits, labels],
      n,
      k,
    });
  },
});

/** WebGPU kernel of `softmaxCrossEntropyGrad`: one row pass; labels are not range-checked. */
export const softmaxCrossEntropyGradWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "softmaxCrossEntropyGrad",
  backend: "webgpu",
  run([logits, labels, dy], _attrs, _outShape, backend) {
    const [n, k] = logits.shape;
    return runRows(backend as unknown as WebGpuBackend, {
      op: "softmaxCrossEntropyGrad",
      code: gradCode,
      inputs: [logits, labels, dy],
      outputSize: n * k,
      n,
      k,
    });
  },
});

/** Both WebGPU kernels of the softmax cross-entropy. */
export const softmaxCrossEntropyWebgpuKernels: readonly Kernel<GpuStorage, NoAttrs>[] = [
  softmaxCrossEntropyWebgpu,
  softmaxCrossEntropyGradWebgpu,
];
