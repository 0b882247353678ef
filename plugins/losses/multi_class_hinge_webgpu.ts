/**
 * WebGPU kernels of `multiClassHinge` and `multiClassHingeGrad`.
 *
 * Design notes: the forward kernel sums each example's `max(0, 1 − δ·s)^p` in one workgroup per row
 * and a second single-workgroup pass averages the rows; the gradient is elementwise (one invocation
 * per score: `−δ·p·max(0, 1 − δ·s)^(p−1)·dy/n`, 0 at the kink, as on the CPU). `dy` is read on the GPU.
 *
 * Labels are float class indices read as `u32(label)` with NO range check: kernels cannot read GPU
 * values back to raise an error, so on WebGPU an out-of-range or fractional label is the caller's
 * responsibility (every class then counts as a wrong one, or the wrong class is taken as the true
 * one). The CPU kernels check every label; the `hingeL1`/`hingeL2` losses check host labels
 * (`ctx.labels`).
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, PRELUDE, runKernel } from "@cnnlab/backend-webgpu/dispatch";
import { meanOfRows, ROW_LANES, rowCode } from "./_rows_webgpu.ts";
import type { MultiClassHingeAttrs } from "./multi_class_hinge_op.ts";

// in0 scores [n, k], in1 labels [n]; params [n, k, p]; out: one loss per row.
const lossCode = rowCode(
  2,
  `
  let c = u32(in1[row]);
  let squared = params[2] == 2u;
  var acc = 0.0;
  for (var j = lid; j < k; j += ${ROW_LANES}u) {
    let m = 1.0 - select(-1.0, 1.0, j == c) * in0[o + j];
    if (m > 0.0) { acc += select(m, m * m, squared); }
  }
  acc = rowSum(acc, lid);
  if (lid == 0u) { out[row] = acc; }`,
);

// in0 scores, in1 labels, in2 dy; params [n·k, k, p, n]; one invocation per score.
const gradCode = `${bindings(3)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = index(gid, nwg);
  if (e >= params[0]) { return; }
  let k = params[1];
  let delta = select(-1.0, 1.0, e % k == u32(in1[e / k]));
  let m = 1.0 - delta * in0[e];
  let f = in2[0] / f32(params[3]);
  out[e] = select(0.0, -delta * select(1.0, 2.0 * m, params[2] == 2u) * f, m > 0.0);
}`;

/** WebGPU kernel of `multiClassHinge`: a row pass and a mean pass; labels are not range-checked. */
export const multiClassHingeWebgpu: Kernel<GpuStorage, MultiClassHingeAttrs> = defineKernel<
  GpuStorage,
  MultiClassHingeAttrs
>({
  op: "multiClassHinge",
  backend: "webgpu",
  run([scores, labels], { p }, _outShape, backend) {
    const [n, k] = scores.shape;
    return meanOfRows(backend as unknown as WebGpuBackend, {
      op: "multiClassHinge",
      code: lossCode,
      inputs: [scores, labels],
      n,
      k,
      extra: [p],
    });
  },
});

/** WebGPU kernel of `multiClassHingeGrad`: one invocation per score; labels are not range-checked. */
export const multiClassHingeGradWebgpu: Kernel<GpuStorage, MultiClassHingeAttrs> = defineKernel<
  GpuStorage,
  MultiClassHingeAttrs
>({
  op: "multiClassHingeGrad",
  backend: "webgpu",
  run([scores, labels, dy], { p }, _outShape, backend) {
    const [n, k] = scores.shape;
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "multiClassHingeGrad",
      code: gradCode,
      inputs: [scores, labels, dy],
      outputSize: n * k,
      params: [n * k, k, p, n],
    });
  },
});

/** Both WebGPU kernels of the multi-class hinge. */
export const hingeWebgpuKernels: readonly Kernel<GpuStorage, MultiClassHingeAttrs>[] = [
  multiClassHingeWebgpu,
  multiClassHingeGradWebgpu,
];
