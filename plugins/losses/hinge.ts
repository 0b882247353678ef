/**
 * The `hingeL1` and `hingeL2` losses: the multi-class SVM (one-vs-rest) hinge and squared hinge on
 * class scores `[batch, classes]` against class indices `[batch]`.
 * @module
 */
import type { Loss, LossContext, Tensor } from "@cnnlab/core";
import { checkLabels } from "./_labels.ts";
import { multiClassHingeLoss } from "./multi_class_hinge_op.ts";

/** Options of `hingeL1` and `hingeL2`: none yet (pass `{}`). The margin is fixed at 1. */
export type HingeOptions = Record<string, never>;

/**
 * Checks the options of a hinge loss; they have none, so any key is an error.
 *
 * @param name The loss being created, for messages: `"hingeL1"` or `"hingeL2"`.
 * @param options The user's options.
 * @returns The resolved (empty) options.
 * @throws {TypeError} If `options` is not a plain object.
 * @throws {RangeError} If it has any key, naming the loss and the key.
 * @example Empty options resolve to empty options
 * ```ts
 * import { resolveHingeOptions } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveHingeOptions("hingeL1", {}), {});
 * assert.throws(() => resolveHingeOptions("hingeL2", { margin: 2 } as never), RangeError);
 * ```
 */
export function resolveHingeOptions(name: string, options: HingeOptions): HingeOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`Cannot create loss ${name}: options must be an object, got ${options}`);
  }
  const keys = Object.keys(options);
  if (keys.length > 0) {
    throw new RangeError(
      `Cannot create loss ${name}: unknown option "${keys[0]}"; this loss takes no options, pass {}`,
    );
  }
  return {};
}

function hinge(p: 1 | 2, options: HingeOptions): Loss<HingeOptions> {
  const name = `hingeL${p}`;
  resolveHingeOptions(name, options);
  return {
    name,
    options,
    output: "scores",
    compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor {
      if (Array.isArray(predictions)) {
        throw new TypeError(
          `Cannot compute loss ${name}: predictions must be one [batch, classes] tensor, got a list of ${predictions.length}`,
        );
      }
      const scores = predictions as Tensor;
      if (scores.rank !== 2 || targets.rank !== 1 || targets.shape[0] !== scores.shape[0]) {
        throw new TypeError(
          `Cannot compute loss ${name}: predictions must be [batch, classes] and targets [batch]: current shapes are [${scores.shape}] and [${targets.shape}]`,
        );
      }
      if (ctx?.labels?.length === scores.shape[0]) {
        checkLabels(`compute ${name}`, ctx.labels, scores.shape[1]);
      }
      return multiClassHingeLoss(scores, targets, { p });
    },
  };
}

/**
 * Creates the multi-class hinge loss (one-vs-rest SVM):
 * `(1/n) Σᵢ Σⱼ max(0, 1 − δ(yᵢ, j)·sᵢⱼ)` with δ = +1 for the true class and −1 for the others, so
 * the true class's score is pushed above +1 and every other score below −1. At a margin of exactly
 * 0 the gradient is the subgradient 0. The gradient flows to the scores, not to the labels. Labels
 * are checked by the CPU kernels; on WebGPU only host labels passed as `ctx.labels` are checked
 * (here, before any kernel runs), and other out-of-range labels are the caller's responsibility.
 *
 * @param options None yet: `{}`.
 * @returns A loss whose `compute(scores [n, k], labels [n])` returns a scalar tensor; `output` is `"scores"`.
 * @throws {TypeError} If `options` is not an object.
 * @throws {RangeError} If an option is given; `compute` throws one for a bad label in `ctx.labels`.
 * @example Margins met cost nothing
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { hingeL1 } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const loss = hingeL1({});
 * const scores = device.tensor([2, -1, -3, 1.5], [2, 2]);
 * assert.equal(await loss.compute(scores, device.tensor([0, 1], [2])).item(), 0);
 * assert.equal(await loss.compute(scores, device.tensor([1, 0], [2])).item(), (3 + 2 + 4 + 2.5) / 2);
 * ```
 */
export function hingeL1(options: HingeOptions = {}): Loss<HingeOptions> {
  return hinge(1, options);
}

/**
 * Creates the multi-class squared hinge loss (one-vs-rest L2-SVM):
 * `(1/n) Σᵢ Σⱼ max(0, 1 − δ(yᵢ, j)·sᵢⱼ)²` with δ = +1 for the true class and −1 for the others.
 * Its gradient, `−2δ·max(0, 1 − δ·s)/n`, is continuous. It flows to the scores, not to the labels.
 * Labels are checked as for `hingeL1` (on WebGPU, only host labels passed as `ctx.labels`).
 *
 * @param options None yet: `{}`.
 * @returns A loss whose `compute(scores [n, k], labels [n])` returns a scalar tensor; `output` is `"scores"`.
 * @throws {TypeError} If `options` is not an object.
 * @throws {RangeError} If an option is given; `compute` throws one for a bad label in `ctx.labels`.
 * @example Squared margins
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { hingeL2 } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const scores = device.tensor([0.5, 0, -2], [1, 3]); // label 0: margins 0.5, 1 and −1
 * assert.equal(await hingeL2({}).compute(scores, device.tensor([0], [1])).item(), 0.25 + 1);
 * ```
 */
export function hingeL2(options: HingeOptions = {}): Loss<HingeOptions> {
  return hinge(2, options);
}
