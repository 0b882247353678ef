/**
 * `@cnnlab/losses`: the `softmaxCrossEntropy` loss, its ops (`softmaxCrossEntropy`,
 * `softmaxCrossEntropyGrad`) and their CPU kernels.
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
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { softmaxCrossEntropy } from "./softmax_cross_entropy.ts";
import { softmaxCrossEntropyGradOp, softmaxCrossEntropyOp } from "./softmax_cross_entropy_op.ts";
import { lossCpuKernels } from "./softmax_cross_entropy_cpu.ts";

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

/** The losses plugin: registers the `softmaxCrossEntropy` loss, its two ops and their CPU kernels. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/losses",
  version: "0.1.0",
  provides: {
    losses: { softmaxCrossEntropy },
    ops: [softmaxCrossEntropyOp, softmaxCrossEntropyGradOp],
  },
  kernels: [...lossCpuKernels],
});
export default plugin;
