/**
 * `@cnnlab/conv`: convolution for `@cnnlab/core`. Ops `conv2d`, `conv2dBackpropInput` and
 * `conv2dBackpropFilter` (grouped, dilated, strided, zero-padded; each with a reference kernel, a
 * gradient, a CPU kernel built on im2col + `gemm` and a WebGPU implicit-GEMM kernel), and layers `conv2d` and `conv1d`.
 *
 * @example Register the plugin and run a layer
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import conv from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const registry = new Registry().use(cpu).use(conv);
 * const device = await registry.device("cpu");
 * const layer = registry.layer("conv2d")({ filters: 6, kernelSize: 5, padding: 2 });
 * const y = layer.forward(device.zeros([2, 1, 28, 28]), { training: false, rng: new Rng(1) });
 * assert.deepEqual(y.shape, [2, 6, 28, 28]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { conv1d } from "./conv1d.ts";
import { conv2d } from "./conv2d.ts";
import { conv2dBackpropFilterOp, conv2dBackpropInputOp, conv2dBiasOp, conv2dOp } from "./conv2d_op.ts";
import { conv2dBiasCpu, conv2dCpu } from "./conv2d_cpu.ts";
import { conv2dBackpropInputCpu } from "./conv2d_backprop_input_cpu.ts";
import { conv2dBackpropFilterCpu } from "./conv2d_backprop_filter_cpu.ts";
import {
  conv2dBackpropFilterWebgpu,
  conv2dBackpropInputWebgpu,
  conv2dBiasWebgpu,
  conv2dWebgpu,
} from "./conv2d_webgpu.ts";

export {
  Conv2d,
  conv2d,
  type Conv2dOptions,
  resolveConv2dOptions,
  type ResolvedConv2dOptions,
} from "./conv2d.ts";
export {
  Conv1d,
  conv1d,
  type Conv1dOptions,
  resolveConv1dOptions,
  type ResolvedConv1dOptions,
} from "./conv1d.ts";
export {
  type Conv2dAttrs,
  type Conv2dAttrsInput,
  type Conv2dBackpropFilterAttrs,
  conv2dBackpropFilterOp,
  type Conv2dBackpropInputAttrs,
  conv2dBackpropInputOp,
  type Conv2dBiasAttrs,
  conv2dBiasOp,
  conv2dOp,
  type Pair,
} from "./conv2d_op.ts";
export { conv2dBiasCpu, conv2dCpu } from "./conv2d_cpu.ts";
export { conv2dBackpropInputCpu } from "./conv2d_backprop_input_cpu.ts";
export { conv2dBackpropFilterCpu } from "./conv2d_backprop_filter_cpu.ts";
export {
  conv2dBackpropFilterWebgpu,
  conv2dBackpropInputWebgpu,
  conv2dBiasWebgpu,
  conv2dWebgpu,
} from "./conv2d_webgpu.ts";
export * as convOps from "./ops.ts";

/**
 * The `@cnnlab/conv` plugin: layers `conv2d` and `conv1d`, four ops (`conv2d`, `conv2dBias` and the
 * two adjoints) and their CPU and WebGPU kernels.
 */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/conv",
  version: "0.1.0",
  provides: {
    layers: { conv2d, conv1d },
    ops: [conv2dOp, conv2dBiasOp, conv2dBackpropInputOp, conv2dBackpropFilterOp],
  },
  kernels: [
    conv2dCpu,
    conv2dBiasCpu,
    conv2dBackpropInputCpu,
    conv2dBackpropFilterCpu,
    conv2dWebgpu,
    conv2dBiasWebgpu,
    conv2dBackpropInputWebgpu,
    conv2dBackpropFilterWebgpu,
  ],
});
export default plugin;
