/**
 * `@cnnlab/losses`: the `softmaxCrossEntropy`, `hingeL1`, `hingeL2` and `klDivergence` losses, their
 * ops (`softmaxCrossEntropy`, `softmaxCrossEntropyGrad`, `multiClassHinge`, `multiClassHingeGrad`,
 * `klDivergence`, `klDivergenceGrad`) and their CPU and WebGPU kernels. On WebGPU the kernels cannot
 * check labels or target rows (they cannot read GPU values back to throw); the losses check host
 * labels passed as `ctx.labels`, and other out-of-range labels are the caller's responsibility.
 *
 * @example Register the plugin and compute a loss
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const registry = new Registry().use(cpu).use(losses);
 * const device = await registry.device("cpu");
 * const loss = registry.loss("softmaxCrossEntropy")({});
 * const value = await loss.compute(device.fill([3, 5], 1), device.tensor([0, 2, 4], [3])).item();
 * assert.ok(Math.abs(value - Math.log(5)) < 1e-6);
 * const hinge = registry.loss("hingeL1")({});
 * assert.equal(await hinge.compute(device.fill([3, 5], 0), device.tensor([0, 2, 4], [3])).item(), 5);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { softmaxCrossEntropy } from "./softmax_cross_entropy.ts";
import { softmaxCrossEntropyGradOp, softmaxCrossEntropyOp } from "./softmax_cross_entropy_op.ts";
import { lossCpuKernels } from "./softmax_cross_entropy_cpu.ts";
import { hingeL1, hingeL2 } from "./hinge.ts";
import { multiClassHingeGradOp, multiClassHingeOp } from "./multi_class_hinge_op.ts";
import { hingeCpuKernels } from "./multi_class_hinge_cpu.ts";
import { klDivergence } from "./kl_divergence.ts";
import { klDivergenceGradOp, klDivergenceOp } from "./kl_divergence_op.ts";
import { klDivergenceCpuKernels } from "./kl_divergence_cpu.ts";
import { softmaxCrossEntropyWebgpuKernels } from "./softmax_cross_entropy_webgpu.ts";
import { hingeWebgpuKernels } from "./multi_class_hinge_webgpu.ts";
import { klDivergenceWebgpuKernels } from "./kl_divergence_webgpu.ts";

export {
  resolveSoftmaxCrossEntropyOptions,
  softmaxCrossEntropy,
  type SoftmaxCrossEntropyOptions,
} from "./softmax_cross_entropy.ts";
export {
  softmaxCrossEntropyGrad,
  softmaxCrossEntropyGradOp,
  softmaxCrossEntropyLoss,
  softmaxCrossEntropyOp,
} from "./softmax_cross_entropy_op.ts";
export {
  lossCpuKernels,
  softmaxCrossEntropyCpu,
  softmaxCrossEntropyGradCpu,
} from "./softmax_cross_entropy_cpu.ts";
export { hingeL1, hingeL2, type HingeOptions, resolveHingeOptions } from "./hinge.ts";
export {
  type MultiClassHingeAttrs,
  multiClassHingeGrad,
  multiClassHingeGradOp,
  multiClassHingeLoss,
  multiClassHingeOp,
} from "./multi_class_hinge_op.ts";
export { hingeCpuKernels, multiClassHingeCpu, multiClassHingeGradCpu } from "./multi_class_hinge_cpu.ts";
export {
  klDivergence,
  type KlDivergenceOptions,
  type ResolvedKlDivergenceOptions,
  resolveKlDivergenceOptions,
} from "./kl_divergence.ts";
export {
  type KlDivergenceAttrs,
  klDivergenceGrad,
  klDivergenceGradOp,
  klDivergenceLoss,
  klDivergenceOp,
} from "./kl_divergence_op.ts";
export { klDivergenceCpu, klDivergenceCpuKernels, klDivergenceGradCpu } from "./kl_divergence_cpu.ts";
export {
  softmaxCrossEntropyGradWebgpu,
  softmaxCrossEntropyWebgpu,
  softmaxCrossEntropyWebgpuKernels,
} from "./softmax_cross_entropy_webgpu.ts";
export {
  hingeWebgpuKernels,
  multiClassHingeGradWebgpu,
  multiClassHingeWebgpu,
} from "./multi_class_hinge_webgpu.ts";
export {
  klDivergenceGradWebgpu,
  klDivergenceWebgpu,
  klDivergenceWebgpuKernels,
} from "./kl_divergence_webgpu.ts";

/** The losses plugin: registers four losses, their six ops and the ops' CPU and WebGPU kernels. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/losses",
  version: "0.1.0",
  provides: {
    losses: { softmaxCrossEntropy, hingeL1, hingeL2, klDivergence },
    ops: [
      softmaxCrossEntropyOp,
      softmaxCrossEntropyGradOp,
      multiClassHingeOp,
      multiClassHingeGradOp,
      klDivergenceOp,
      klDivergenceGradOp,
    ],
  },
  kernels: [
    ...lossCpuKernels,
    ...hingeCpuKernels,
    ...klDivergenceCpuKernels,
    ...softmaxCrossEntropyWebgpuKernels,
    ...hingeWebgpuKernels,
    ...klDivergenceWebgpuKernels,
  ],
});
export default plugin;
