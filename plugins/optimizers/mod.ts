/**
 * `@cnnlab/optimizers`: the `sgd` (momentum, Nesterov, weight decay) and `adam` optimizers and
 * their learning-rate schedules (`step`, `cosine` with warm-up). Their updates run as two fused ops,
 * `momentUpdate` and `adamApply`, with CPU and WebGPU kernels: one pass per moment and one for the
 * parameter instead of a dozen allocating elementwise ops. On a backend without these kernels (or
 * when the plugin's kernels are not registered) the optimizers compose core's primitive ops instead.
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
import { momentUpdateCpu, momentUpdateOp } from "./moment_update.ts";
import { adamApplyCpu, adamApplyOp } from "./adam_apply.ts";
import { adamApplyWebgpu, momentUpdateWebgpu } from "./update_webgpu.ts";

export { type ResolvedSgdOptions, resolveSgdOptions, sgd, type SgdOptions } from "./sgd.ts";
export { adam, type AdamOptions, resolveAdamOptions, type ResolvedAdamOptions } from "./adam.ts";
export { momentUpdate, type MomentUpdateAttrs, momentUpdateOp } from "./moment_update.ts";
export { adamApply, type AdamApplyAttrs, adamApplyOp } from "./adam_apply.ts";
export {
  type CosineScheduleOptions,
  learningRateAt,
  type ResolvedSchedule,
  resolveSchedule,
  type ScheduleOptions,
  type StepScheduleOptions,
} from "./schedule.ts";

/** The optimizers plugin: registers `sgd` and `adam`, and their update ops with CPU and WebGPU kernels. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/optimizers",
  version: "0.1.0",
  provides: { optimizers: { sgd, adam }, ops: [momentUpdateOp, adamApplyOp] },
  kernels: [momentUpdateCpu, adamApplyCpu, momentUpdateWebgpu, adamApplyWebgpu],
});
export default plugin;
