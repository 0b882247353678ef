/**
 * `@cnnlab/pooling`: 2-D pooling on NCHW tensors for `@cnnlab/core` — max, min, average, Lp and
 * mixed pooling, as ops (with reference kernels and gradients), CPU and WebGPU kernels and layers.
 *
 * Layers (registered under these names, no parameters): `maxPool2d`, `minPool2d`, `avgPool2d`,
 * `lpPool2d`, `mixedPool2d`. Ops: `maxPool2d`, `minPool2d`, `avgPool2d`, `lpPool2d` and their
 * `…Backward` gradient ops; mixed pooling is composed from max and average pooling.
 *
 * @example Register and pool
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const registry = new Registry().use(cpu).use(pooling);
 * const device = await registry.device("cpu");
 * const layer = registry.layer("maxPool2d")({ poolSize: 2 });
 * const y = layer.forward(device.tensor([1, 4, 3, 2], [1, 1, 2, 2]), { training: false, rng: new Rng(0) });
 * assert.deepEqual([...y.dataSync()], [4]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { maxPool2d, maxPool2dBackwardOp, maxPool2dOp } from "./max_pool2d.ts";
import { minPool2d, minPool2dBackwardOp, minPool2dOp } from "./min_pool2d.ts";
import { avgPool2d, avgPool2dBackwardOp, avgPool2dOp } from "./avg_pool2d.ts";
import { lpPool2d, lpPool2dBackwardOp, lpPool2dOp } from "./lp_pool2d.ts";
import { mixedPool2d } from "./mixed_pool2d.ts";
import {
  maxPool2dBackwardCpu,
  maxPool2dCpu,
  minPool2dBackwardCpu,
  minPool2dCpu,
} from "./max_min_pool2d_cpu.ts";
import { avgPool2dBackwardCpu, avgPool2dCpu } from "./avg_pool2d_cpu.ts";
import { lpPool2dBackwardCpu, lpPool2dCpu } from "./lp_pool2d_cpu.ts";
import {
  maxPool2dBackwardWebgpu,
  maxPool2dWebgpu,
  minPool2dBackwardWebgpu,
  minPool2dWebgpu,
} from "./max_min_pool2d_webgpu.ts";
import { avgPool2dBackwardWebgpu, avgPool2dWebgpu } from "./avg_pool2d_webgpu.ts";
import { lpPool2dBackwardWebgpu, lpPool2dWebgpu } from "./lp_pool2d_webgpu.ts";

export * from "./pool_options.ts";
export * from "./max_pool2d.ts";
export * from "./min_pool2d.ts";
export * from "./avg_pool2d.ts";
export * from "./lp_pool2d.ts";
export * from "./mixed_pool2d.ts";

/** The pooling plugin: five layers, eight ops and their CPU and WebGPU kernels. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/pooling",
  version: "0.1.0",
  provides: {
    layers: { maxPool2d, minPool2d, avgPool2d, lpPool2d, mixedPool2d },
    ops: [
      maxPool2dOp,
      maxPool2dBackwardOp,
      minPool2dOp,
      minPool2dBackwardOp,
      avgPool2dOp,
      avgPool2dBackwardOp,
      lpPool2dOp,
      lpPool2dBackwardOp,
    ],
  },
  kernels: [
    maxPool2dCpu,
    maxPool2dBackwardCpu,
    minPool2dCpu,
    minPool2dBackwardCpu,
    avgPool2dCpu,
    avgPool2dBackwardCpu,
    lpPool2dCpu,
    lpPool2dBackwardCpu,
    maxPool2dWebgpu,
    maxPool2dBackwardWebgpu,
    minPool2dWebgpu,
    minPool2dBackwardWebgpu,
    avgPool2dWebgpu,
    avgPool2dBackwardWebgpu,
    lpPool2dWebgpu,
    lpPool2dBackwardWebgpu,
  ],
});
export default plugin;
