/**
 * Stochastic gradient descent with momentum, Nesterov momentum and weight decay (PyTorch semantics).
 * @module
 */
import { ops, type Optimizer, type Tensor } from "@cnnlab/core";
import { booleanOption, checkKeys, numberOption } from "./_options.ts";
import { hasFusedKernels, ScheduledOptimizer } from "./_optimizer.ts";
import { momentUpdate } from "./moment_update.ts";
import { type ResolvedSchedule, resolveSchedule, type ScheduleOptions } from "./schedule.ts";

/** Options of `sgd`; see `resolveSgdOptions` for defaults and bounds. */
export interface SgdOptions {
  /** Base learning rate. */
  readonly lr?: number;
  /** Momentum factor μ. */
  readonly momentum?: number;
  /** Use Nesterov momentum (needs momentum > 0). */
  readonly nesterov?: boolean;
  /** L2 penalty added to the gradient. */
  readonly weightDecay?: number;
  /** Learning-rate schedule by epoch. */
  readonly schedule?: ScheduleOptions;
}

/** `SgdOptions` with every default filled in. */
export interface ResolvedSgdOptions {
  /** Base learning rate. */
  readonly lr: number;
  /** Momentum factor μ (0: none). */
  readonly momentum: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  /** L2 penalty added to the gradient. */
  readonly weightDecay: number;
  /** The schedule, if any. */
  readonly schedule?: ResolvedSchedule;
}

/**
 * Checks `sgd` options and fills in the defaults: `lr = 0.01` (positive), `momentum = 0` (in [0, 1)),
 * `nesterov = false` (true needs momentum > 0), `weightDecay = 0` (non-negative), no schedule
 * (see `resolveSchedule` for the schedule's defaults).
 *
 * @param options The user's options.
 * @returns The resolved options.
 * @throws {RangeError} Naming the optimizer and the option that is unknown or out of range.
 * @throws {TypeError} If `options` is not an object.
 * @example Defaults
 * ```ts
 * import { resolveSgdOptions } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveSgdOptions({}), { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0, schedule: undefined });
 * ```
 */
export function resolveSgdOptions(options: SgdOptions): ResolvedSgdOptions {
  const owner = "optimizer sgd";
  checkKeys(owner, options, ["lr", "momentum", "nesterov", "weightDecay", "schedule"]);
  const lr = numberOption(owner, "lr", options.lr, {
    min: 0,
    minExclusive: true,
    says: "a positive number",
    fallback: 0.01,
  });
  const momentum = numberOption(owner, "momentum", options.momentum, {
    min: 0,
    max: 1,
    maxExclusive: true,
    says: "a number in [0, 1)",
    fallback: 0,
  });
  const nesterov = booleanOption(owner, "nesterov", options.nesterov, false);
  if (nesterov && momentum === 0) {
    throw new RangeError(
      `Cannot create ${owner}: option "nesterov" needs momentum > 0; set momentum, e.g. 0.9`,
    );
  }
  const weightDecay = numberOption(owner, "weightDecay", options.weightDecay, {
    min: 0,
    says: "a non-negative number",
    fallback: 0,
  });
  const schedule = options.schedule === undefined
    ? undefined
    : resolveSchedule(options.schedule, { optimizer: "sgd", lr });
  return { lr, momentum, nesterov, weightDecay, schedule };
}

class Sgd extends ScheduledOptimizer<SgdOptions> {
  readonly #o: ResolvedSgdOptions;

  constructor(options: SgdOptions) {
    const o = resolveSgdOptions(options);
    super("sgd", options, { lr: o.lr, schedule: o.schedule, slots: o.momentum > 0 ? ["momentum"] : [] });
    this.#o = o;
  }

  protected update(name: string, p: Tensor, g: Tensor, { lr }: { lr: number }): void {
    const { momentum: mu, nesterov, weightDecay } = this.#o;
    if (hasFusedKernels(p, ["momentUpdate"])) {
      // Each line is one fused op giving the float32 numbers of the composition below.
      const step = { decay: 1, gain: -lr, power: 1 } as const;
      if (mu === 0) return p.assign(momentUpdate([p, g, p], { ...step, weightDecay }));
      if (nesterov && weightDecay > 0) {
        g = momentUpdate([g, p, p], { decay: 1, gain: weightDecay, power: 1, weightDecay: 0 });
      }
      const v = this.slots.get(name, "momentum", p);
      const wd = nesterov ? 0 : weightDecay; // under Nesterov, g already has the decay
      this.slots.set(
        name,
        "momentum",
        momentUpdate([v, g, p], { decay: mu, gain: 1, power: 1, weightDecay: wd }),
      );
      const direction = nesterov
        ? momentUpdate([g, v, p], { decay: 1, gain: mu, power: 1, weightDecay: 0 })
        : v;
      return p.assign(momentUpdate([p, direction, p], { ...step, weightDecay: 0 }));
    }
    // Without this plugin's kernels on the backend: the same update composed from core's ops.
    if (weightDecay > 0) g = ops.add(g, ops.scale(p, weightDecay));
    let direction = g;
    if (mu > 0) {
      const v = this.slots.get(name, "momentum", p);
      this.slots.set(name, "momentum", ops.add(ops.scale(v, mu), g)); // v now holds μ·v + g
      direction = nesterov ? ops.add(g, ops.scale(v, mu)) : v;
    }
    p.assign(ops.sub(p, ops.scale(direction, lr)));
  }
}

/**
 * Creates an SGD optimizer with PyTorch semantics: `g ← g + weightDecay·p`; with momentum
 * `v ← μ·v + g` and the step is `g + μ·v` (Nesterov) or `v`; `p ← p − lr·step`.
 * State: `<param>/momentum` per parameter when momentum > 0, and the scalar `step`.
 *
 * @param options Hyperparameters (see `resolveSgdOptions` for defaults).
 * @returns The optimizer. Where the backend has this plugin's kernels (the plugin is registered), a
 *   step is one to four fused `momentUpdate` ops per parameter; otherwise it composes core's
 *   primitive ops, with the same float32 results on the CPU.
 * @throws {RangeError} Naming the option that is unknown or out of range.
 * @example One plain step: p − lr·g
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { sgd } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const p = device.tensor([1, 2], [2]);
 * sgd({ lr: 0.5 }).step(new Map([["p", p]]), new Map([["p", device.tensor([2, -2], [2])]]));
 * assert.deepEqual([...await p.data()], [0, 3]);
 * ```
 */
export function sgd(options: SgdOptions = {}): Optimizer<SgdOptions> {
  return new Sgd(options);
}
