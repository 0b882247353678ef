/**
 * `@cnnlab/backend-webgpu`: the WebGPU backend and its kernels for every primitive op of
 * `@cnnlab/core`. Layer plugins bring WebGPU kernels for their own ops, written with the binding
 * convention and helpers of `@cnnlab/backend-webgpu/dispatch`.
 *
 * @example Start the backend (a software adapter is enough) and add two tensors
 * ```ts
 * import { ops, Registry } from "@cnnlab/core";
 * import webgpu from "@cnnlab/backend-webgpu";
 * import assert from "node:assert/strict";
 * if (navigator.gpu && await navigator.gpu.requestAdapter()) {
 *   const device = await new Registry().use(webgpu).device("webgpu");
 *   const y = ops.add(device.tensor([1, 2], [2]), device.tensor([10], [1]));
 *   assert.deepEqual([...await y.data()], [11, 12]);
 * }
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { WebGpuBackend } from "./backend.ts";
import { elementwiseKernels } from "./kernels/elementwise.ts";
import { reduceKernels } from "./kernels/reduce.ts";
import { layoutKernels } from "./kernels/layout.ts";

export { type GpuStorage, WebGpuBackend, type WebGpuOptions } from "./backend.ts";

/** The WebGPU backend plugin. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/backend-webgpu",
  version: "0.1.0",
  provides: { backends: { webgpu: () => WebGpuBackend.create() } },
  kernels: [...elementwiseKernels, ...reduceKernels, ...layoutKernels],
});
export default plugin;
