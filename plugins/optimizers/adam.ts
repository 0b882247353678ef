/**
 * Adam with bias correction and L2 weight decay added to the gradient (PyTorch `Adam` semantics).
 * @module
 */
import { ops, type Optimizer, type Tensor } from "@cnnlab/core";
import { checkKeys, numberOption } from "./_options.ts";
import { hasFusedKernels, ScheduledOptimizer } from "./_optimizer.ts";
import { momentUpdate } from "./moment_update.ts";
import { adamApply } from "./adam_apply.ts";
import { type ResolvedSchedule, resolveSchedule, type ScheduleOptions } from "./schedule.ts";

/** Options of `adam`; see `resolveAdamOptions` for defaults and bounds. */
export interface AdamOptions {
  /** Base learning rate. */
  readonly lr?: number;
  /** Decay of the first-moment average. */
  readonly beta1?: number;
  /** Decay of the second-moment average. */
  readonly beta2?: number;
  /** Added to √v̂ in the denominator. */
  readonly epsilon?: number;
  /** L2 penalty added to the gradient (not decoupled as in AdamW). */
  readonly weightDecay?: number;
  /** Learning-rate schedule by epoch. */
  readonly schedule?: ScheduleOptions;
}

/** `AdamOptions` with every default filled in. */
export interface ResolvedAdamOptions {
  /** Base learning rate. */
  readonly lr: number;
  /** Decay of the first-moment average. */
  readonly beta1: number;
  /** Decay of the second-moment average. */
  readonly beta2: number;
  /** Added to √v̂ in the denominator. */
  readonly epsilon: number;
  /** L2 penalty added to the gradient. */
  readonly weightDecay: number;
  /** The schedule, if any. */
  readonly schedule?: ResolvedSchedule;
}

/**
 * Checks `adam` options and fills in the defaults: `lr = 0.001` (positive), `beta1 = 0.9` and
 * `beta2 = 0.999` (each in [0, 1)), `epsilon = 1e-8` (positive), `weightDecay = 0` (non-negative),
 * no schedule (see `resolveSchedule` for the schedule's defaults).
 *
 * @param options The user's options.
 * @returns The resolved options.
 * @throws {RangeError} Naming the optimizer and the option that is unknown or out of range.
 * @throws {TypeError} If `options` is not an object.
 * @example Defaults
 * ```ts
 * import { resolveAdamOptions } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveAdamOptions({ lr: 0.01 }), {
 *   lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, schedule: undefined,
 * });
 * ```
 */
export function resolveAdamOptions(options: AdamOptions): ResolvedAdamOptions {
  const owner = "optimizer adam";
  checkKeys(owner, options, ["lr", "beta1", "beta2", "epsilon", "weightDecay", "schedule"]);
  const unit = (key: string, value: unknown, fallback: number) =>
    numberOption(owner, key, value, {
      min: 0,
      max: 1,
      maxExclusive: true,
      says: "a number in [0, 1)",
      fallback,
    });
  const lr = numberOption(owner, "lr", options.lr, {
    min: 0,
    minExclusive: true,
    says: "a positive number",
    fallback: 0.001,
  });
  return {
    lr,
    beta1: unit("beta1", options.beta1, 0.9),
    beta2: unit("beta2", options.beta2, 0.999),
    epsilon: numberOption(owner, "epsilon", options.epsilon, {
      min: 0,
      minExclusive: true,
      says: "a positive number",
      fallback: 1e-8,
    }),
    weightDecay: numberOption(owner, "weightDecay", options.weightDecay, {
      min: 0,
      says: "a non-negative number",
      fallback: 0,
    }),
    schedule: options.schedule === undefined
      ? undefined
      : resolveSchedule(options.schedule, { optimizer: "adam", lr }),
  };
}

class Adam extends ScheduledOptimizer<AdamOptions> {
  readonly #o: ResolvedAdamOptions;

  constructor(options: AdamOptions) {
    const o = resolveAdamOptions(options);
    super("adam", options, { lr: o.lr, schedule: o.schedule, slots: ["m", "v"] });
    this.#o = o;
  }

  protected update(name: string, p: Tensor, g: Tensor, { lr, step }: { lr: number; step: number }): void {
    const { beta1, beta2, epsilon, weightDecay } = this.#o;
    const m = this.slots.get(name, "m", p), v = this.slots.get(name, "v", p);
    if (hasFusedKernels(p, ["momentUpdate", "adamApply"])) {
      this.slots.set(
        name,
        "m",
        momentUpdate([m, g, p], { decay: beta1, gain: 1 - beta1, power: 1, weightDecay }),
      );
      this.slots.set(
        name,
        "v",
        momentUpdate([v, g, p], { decay: beta2, gain: 1 - beta2, power: 2, weightDecay }),
      );
      p.assign(adamApply([p, m, v], { lr, beta1, beta2, epsilon, step }));
      return;
    }
    // Without this plugin's kernels on the backend: the same update composed from core's ops.
    if (weightDecay > 0) g = ops.add(g, ops.scale(p, weightDecay));
    this.slots.set(name, "m", ops.add(ops.scale(m, beta1), ops.scale(g, 1 - beta1)));
    this.slots.set(name, "v", ops.add(ops.scale(v, beta2), ops.scale(ops.mul(g, g), 1 - beta2)));
    // p ← p − lr · m̂ / (√v̂ + ε), with m̂ = m / (1 − β1ᵗ) and √v̂ = √v / √(1 − β2ᵗ).
    const correction1 = 1 - Math.pow(beta1, step), correction2 = 1 - Math.pow(beta2, step);
    const denominator = ops.addScalar(ops.scale(ops.sqrt(v), 1 / Math.sqrt(correction2)), epsilon);
    p.assign(ops.sub(p, ops.scale(ops.div(m, denominator), lr / correction1)));
  }
}

/**
 * Creates an Adam optimizer: `g ← g + weightDecay·p`; `m ← β1·m + (1 − β1)·g`;
 * `v ← β2·v + (1 − β2)·g²`; `p ← p − lr · m̂ / (√v̂ + ε)` with bias-corrected `m̂`, `v̂` at step t.
 * State: `<param>/m` and `<param>/v` per parameter, and the scalar `step` (t).
 *
 * @param options Hyperparameters (see `resolveAdamOptions` for defaults).
 * @returns The optimizer. Where the backend has this plugin's kernels (the plugin is registered), a
 *   step is three fused ops per parameter (`momentUpdate` twice, `adamApply`); otherwise it composes
 *   core's primitive ops, with the same float32 results on the CPU.
 * @throws {RangeError} Naming the option that is unknown or out of range.
 * @example The first step moves each parameter by about lr, against the gradient's sign
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { adam } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const p = device.tensor([1, 1], [2]);
 * adam({ lr: 0.1 }).step(new Map([["p", p]]), new Map([["p", device.tensor([5, -0.5], [2])]]));
 * assert.deepEqual([...await p.data()].map((x) => x.toFixed(4)), ["0.9000", "1.1000"]);
 * ```
 */
export function adam(options: AdamOptions = {}): Optimizer<AdamOptions> {
  return new Adam(options);
}
