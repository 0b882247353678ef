/**
 * `@cnnlab/activations`: activation ops and layers for `@cnnlab/core`: `relu`, `leakyRelu`, `elu`,
 * `prelu` (learned per-channel slopes) and `maxout` (max over groups of consecutive channels).
 *
 * Each op has a naive reference kernel, a one-pass CPU kernel, a WebGPU kernel, and a gradient that
 * is its own op (`reluGrad`, `leakyReluGrad`, `eluGrad`, `preluGrad` + `preluAlphaGrad`, `maxoutGrad`)
 * with its own CPU and WebGPU kernels; the gradients of those gradient ops are composed from core
 * primitives. Layers are
 * registered under the op names; the tensor functions are in the `functional` namespace.
 *
 * @example A small model with PReLU and maxout
 * ```ts
 * import { Model, Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const registry = new Registry().use(cpu).use(activations);
 * const device = await registry.device("cpu");
 * const model = new Model(
 *   { input: [4, 2, 2], layers: [{ type: "prelu" }, { type: "maxout", pieces: 2 }, { type: "relu" }] },
 *   { registry, device, rng: new Rng(1) },
 * );
 * const x = device.tensor(Array.from({ length: 16 }, (_, i) => i - 8), [1, 4, 2, 2]);
 * const y = model.forward(x, { training: false, rng: new Rng(1) });
 * assert.deepEqual(y.shape, [1, 2, 2, 2]);
 * assert.deepEqual([...y.dataSync()], [0, 0, 0, 0, 4, 5, 6, 7]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { elu, leakyRelu, maxout, prelu, relu } from "./layers.ts";
import { reluCpu, reluGradCpu, reluGradOp, reluOp } from "./relu.ts";
import { leakyReluCpu, leakyReluGradCpu, leakyReluGradOp, leakyReluOp } from "./leaky_relu.ts";
import { eluCpu, eluGradCpu, eluGradOp, eluOp } from "./elu.ts";
import {
  preluAlphaGradCpu,
  preluAlphaGradOp,
  preluCpu,
  preluGradCpu,
  preluGradOp,
  preluOp,
} from "./prelu.ts";
import { maxoutCpu, maxoutGradCpu, maxoutGradOp, maxoutOp } from "./maxout.ts";
import { reluGradWebgpu, reluWebgpu } from "./relu_webgpu.ts";
import { leakyReluGradWebgpu, leakyReluWebgpu } from "./leaky_relu_webgpu.ts";
import { eluGradWebgpu, eluWebgpu } from "./elu_webgpu.ts";
import { preluAlphaGradWebgpu, preluGradWebgpu, preluWebgpu } from "./prelu_webgpu.ts";
import { maxoutGradWebgpu, maxoutWebgpu } from "./maxout_webgpu.ts";

export * from "./layers.ts";
export * as functional from "./functional.ts";
export { reluGradOp, reluOp } from "./relu.ts";
export {
  type LeakyReluAttrs,
  leakyReluGradOp,
  leakyReluOp,
  type LeakyReluOptions,
  resolveLeakyReluOptions,
} from "./leaky_relu.ts";
export { type EluAttrs, eluGradOp, eluOp, type EluOptions, resolveEluOptions } from "./elu.ts";
export { preluAlphaGradOp, preluGradOp, preluOp } from "./prelu.ts";
export {
  type MaxoutAttrs,
  maxoutGradOp,
  maxoutOp,
  type MaxoutOptions,
  resolveMaxoutOptions,
} from "./maxout.ts";

/** The activations plugin: five layers, eleven ops and their CPU and WebGPU kernels. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/activations",
  version: "0.1.0",
  provides: {
    layers: { relu, leakyRelu, elu, prelu, maxout },
    ops: [
      reluOp,
      reluGradOp,
      leakyReluOp,
      leakyReluGradOp,
      eluOp,
      eluGradOp,
      preluOp,
      preluGradOp,
      preluAlphaGradOp,
      maxoutOp,
      maxoutGradOp,
    ],
  },
  kernels: [
    reluCpu,
    reluGradCpu,
    leakyReluCpu,
    leakyReluGradCpu,
    eluCpu,
    eluGradCpu,
    preluCpu,
    preluGradCpu,
    preluAlphaGradCpu,
    maxoutCpu,
    maxoutGradCpu,
    reluWebgpu,
    reluGradWebgpu,
    leakyReluWebgpu,
    leakyReluGradWebgpu,
    eluWebgpu,
    eluGradWebgpu,
    preluWebgpu,
    preluGradWebgpu,
    preluAlphaGradWebgpu,
    maxoutWebgpu,
    maxoutGradWebgpu,
  ],
});
export default plugin;
