/**
 * `@cnnlab/core`: tensors, autograd, the primitive ops, and the contracts plugins implement
 * (Backend, Layer, Loss, Dataset, Optimizer, Plugin), plus the registry, models, the training loop
 * and checkpoints. Core holds no layer, loss, dataset, model or backend: those are plugins.
 *
 * @example Register the CPU backend and add two tensors
 * ```ts
 * import { ops, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const y = ops.add(device.tensor([1, 2], [2]), device.tensor([10], [1]));
 * assert.deepEqual([...await y.data()], [11, 12]);
 * ```
 * @module
 */
export * from "./shape.ts";
export * from "./rng.ts";
export * from "./errors.ts";
export * from "./backend.ts";
export * from "./op.ts";
export * from "./tensor.ts";
export * from "./autograd.ts";
export * as ops from "./ops.ts";
export { primitiveOps } from "./ops.ts";
export * from "./layer.ts";
export * from "./loss.ts";
export * from "./optimizer.ts";
export * from "./dataset.ts";
export * from "./model_spec.ts";
export * from "./model.ts";
export * from "./plugin.ts";
export * from "./registry.ts";
export * from "./train.ts";
export * from "./checkpoint.ts";
export * from "./metrics.ts";
export * from "./version.ts";
