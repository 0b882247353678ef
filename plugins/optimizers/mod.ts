/**
 * `@cnnlab/optimizers`: the `sgd` (momentum, Nesterov, weight decay) and `adam` optimizers and
 * their learning-rate schedules (`step`, `cosine` with warm-up). Both compose core's primitive
 * ops, so they run on every backend; they bring no ops or kernels of their own.
 *
 * @example Register the plugin and make an optimizer by name
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import optimizers from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * const registry = new Registry().use(optimizers);
 * const opt = registry.optimizer("sgd")({ lr: 0.1, momentum: 0.9, schedule: { type: "step", stepSize: 2 } });
 * opt.startEpoch(3, 4);
 * assert.ok(Math.abs(opt.learningRate - 0.01) < 1e-12);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { sgd } from "./sgd.ts";
import { adam } from "./adam.ts";

export { type ResolvedSgdOptions, resolveSgdOptions, sgd, type SgdOptions } from "./sgd.ts";
export { adam, type AdamOptions, resolveAdamOptions, type ResolvedAdamOptions } from "./adam.ts";
export {
  type CosineScheduleOptions,
  learningRateAt,
  type ResolvedSchedule,
  resolveSchedule,
  type ScheduleOptions,
  type StepScheduleOptions,
} from "./schedule.ts";

/** The optimizers plugin: registers `sgd` and `adam`. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/optimizers",
  version: "0.1.0",
  provides: { optimizers: { sgd, adam } },
});
export default plugin;
