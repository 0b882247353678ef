/**
 * Learning-rate schedules by epoch: `step` (decay by `gamma` every `stepSize` epochs) and `cosine`
 * (optional linear warm-up, then cosine annealing towards `minLr` over the remaining epochs).
 *
 * Design notes: epochs count from 1, as `fit` passes them to `optimizer.startEpoch`. Cosine
 * annealing follows PyTorch's `CosineAnnealingLR` over `totalEpochs − warmupEpochs` epochs, so the
 * first epoch after warm-up runs at the base rate and the last one just above `minLr` (no epoch is
 * spent at exactly `minLr`, which defaults to 0). Warm-up rises linearly: epoch `e ≤ warmupEpochs`
 * runs at `lr · e / (warmupEpochs + 1)`, so even a one-epoch warm-up starts below the base rate.
 * @module
 */
import { checkKeys, numberOption } from "./_options.ts";

/** Step decay: `lr · gamma^floor((epoch − 1) / stepSize)`. */
export interface StepScheduleOptions {
  /** Selects step decay. */
  readonly type: "step";
  /** Epochs between decays; a positive integer (required). */
  readonly stepSize: number;
  /** Multiplier at each decay; positive (default 0.1). */
  readonly gamma?: number;
}

/** Cosine annealing with optional linear warm-up. */
export interface CosineScheduleOptions {
  /** Selects cosine annealing. */
  readonly type: "cosine";
  /** The rate the curve approaches at the end; 0 ≤ minLr ≤ lr (default 0). */
  readonly minLr?: number;
  /** Epochs of linear warm-up before annealing; a non-negative integer (default 0). */
  readonly warmupEpochs?: number;
}

/** A schedule as the user writes it (the `schedule` option of `sgd` and `adam`). */
export type ScheduleOptions = StepScheduleOptions | CosineScheduleOptions;

/** A schedule with every default filled in. */
export type ResolvedSchedule =
  | { readonly type: "step"; readonly stepSize: number; readonly gamma: number }
  | { readonly type: "cosine"; readonly minLr: number; readonly warmupEpochs: number };

/**
 * Checks a schedule and fills in its defaults: step `gamma = 0.1`; cosine `minLr = 0`, `warmupEpochs = 0`.
 *
 * @param schedule The user's `schedule` option.
 * @param context The optimizer's name (for messages) and its base learning rate (bounds `minLr`).
 * @returns The resolved schedule.
 * @throws {RangeError} Naming the optimizer and option: unknown type or key, `stepSize` not a positive
 *   integer, `gamma` not positive, `minLr` outside `[0, lr]`, `warmupEpochs` not a non-negative integer.
 * @throws {TypeError} If `schedule` is not an object.
 * @example Defaults of a step schedule
 * ```ts
 * import { resolveSchedule } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveSchedule({ type: "step", stepSize: 3 }, { optimizer: "sgd", lr: 0.1 }), {
 *   type: "step", stepSize: 3, gamma: 0.1,
 * });
 * ```
 */
export function resolveSchedule(
  schedule: ScheduleOptions,
  context: { readonly optimizer: string; readonly lr: number },
): ResolvedSchedule {
  const owner = `optimizer ${context.optimizer}`;
  checkKeys(owner, schedule, ["type", "stepSize", "gamma", "minLr", "warmupEpochs"], "schedule.");
  switch (schedule.type) {
    case "step":
      checkKeys(owner, schedule, ["type", "stepSize", "gamma"], "schedule.");
      return {
        type: "step",
        stepSize: numberOption(owner, "schedule.stepSize", schedule.stepSize, {
          min: 1,
          integer: true,
          says: "a positive integer (epochs between decays)",
        }),
        gamma: numberOption(owner, "schedule.gamma", schedule.gamma, {
          min: 0,
          minExclusive: true,
          says: "a positive number",
          fallback: 0.1,
        }),
      };
    case "cosine":
      checkKeys(owner, schedule, ["type", "minLr", "warmupEpochs"], "schedule.");
      return {
        type: "cosine",
        minLr: numberOption(owner, "schedule.minLr", schedule.minLr, {
          min: 0,
          max: context.lr,
          says: `a number from 0 to lr (${context.lr})`,
          fallback: 0,
        }),
        warmupEpochs: numberOption(owner, "schedule.warmupEpochs", schedule.warmupEpochs, {
          min: 0,
          integer: true,
          says: "a non-negative integer",
          fallback: 0,
        }),
      };
    default:
      throw new RangeError(
        `Cannot create ${owner}: option "schedule.type" must be "step" or "cosine", got ${
          JSON.stringify((schedule as { type?: unknown }).type)
        }`,
      );
  }
}

/**
 * The learning rate a schedule gives for an epoch.
 *
 * @param schedule A resolved schedule, or `undefined` for a constant rate.
 * @param at The base rate `lr`, the epoch (from 1) and the total number of epochs.
 * @returns The rate in force during that epoch.
 * @throws {RangeError} If `epoch` is not an integer in `1..totalEpochs`.
 * @example Cosine over 4 epochs from 0.1
 * ```ts
 * import { learningRateAt } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * const cosine = { type: "cosine", minLr: 0, warmupEpochs: 0 } as const;
 * const rates = [1, 2, 3, 4].map((epoch) => learningRateAt(cosine, { lr: 0.1, epoch, totalEpochs: 4 }));
 * assert.deepEqual(rates.map((r) => r.toFixed(5)), ["0.10000", "0.08536", "0.05000", "0.01464"]);
 * ```
 */
export function learningRateAt(
  schedule: ResolvedSchedule | undefined,
  at: { readonly lr: number; readonly epoch: number; readonly totalEpochs: number },
): number {
  const { lr, epoch, totalEpochs } = at;
  if (!Number.isInteger(epoch) || !Number.isInteger(totalEpochs) || epoch < 1 || epoch > totalEpochs) {
    throw new RangeError(
      `Cannot compute the learning rate of epoch ${epoch} of ${totalEpochs}: epochs count from 1 up to the total`,
    );
  }
  if (!schedule) return lr;
  if (schedule.type === "step") {
    return lr * Math.pow(schedule.gamma, Math.floor((epoch - 1) / schedule.stepSize));
  }
  const { minLr, warmupEpochs } = schedule;
  if (epoch <= warmupEpochs) return (lr * epoch) / (warmupEpochs + 1);
  const t = (epoch - 1 - warmupEpochs) / (totalEpochs - warmupEpochs);
  return minLr + ((lr - minLr) * (1 + Math.cos(Math.PI * t))) / 2;
}
