/**
 * The `softmaxCrossEntropy` loss: class scores `[batch, classes]` against class indices `[batch]`.
 * @module
 */
import type { Loss, LossContext, Tensor } from "@cnnlab/core";
import { checkLabels } from "./_labels.ts";
import { softmaxCrossEntropyLoss } from "./softmax_cross_entropy_op.ts";

/** Options of `softmaxCrossEntropy`: none yet (pass `{}`). */
export type SoftmaxCrossEntropyOptions = Record<string, never>;

/**
 * Checks the options of `softmaxCrossEntropy`; it has none, so any key is an error.
 *
 * @param options The user's options.
 * @returns The resolved (empty) options.
 * @throws {TypeError} If `options` is not a plain object.
 * @throws {RangeError} If it has any key, naming the loss and the key.
 * @example Empty options resolve to empty options
 * ```ts
 * import { resolveSoftmaxCrossEntropyOptions } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveSoftmaxCrossEntropyOptions({}), {});
 * ```
 */
export function resolveSoftmaxCrossEntropyOptions(
  options: SoftmaxCrossEntropyOptions,
): SoftmaxCrossEntropyOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`Cannot create loss softmaxCrossEntropy: options must be an object, got ${options}`);
  }
  const keys = Object.keys(options);
  if (keys.length > 0) {
    throw new RangeError(
      `Cannot create loss softmaxCrossEntropy: unknown option "${
        keys[0]
      }"; this loss takes no options, pass {}`,
    );
  }
  return {};
}

/**
 * Creates the softmax cross-entropy loss: the mean over the batch of −log softmax(scores)[label],
 * computed with a stable log-sum-exp. Its gradient flows to the scores, not to the labels. Labels
 * are checked by the CPU kernels; on WebGPU only host labels passed as `ctx.labels` are checked
 * (here, before any kernel runs), and other out-of-range labels are the caller's responsibility.
 *
 * @param options None yet: `{}`.
 * @returns A loss whose `compute(scores [n, k], labels [n])` returns a scalar tensor; `output` is `"scores"`.
 * @throws {RangeError} If an option is given; `compute` throws one for a bad label in `ctx.labels`.
 * @example Confident and right costs little; confident and wrong costs a lot
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { softmaxCrossEntropy } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const loss = softmaxCrossEntropy({});
 * const scores = device.tensor([10, 0, 0, 10], [2, 2]);
 * assert.ok((await loss.compute(scores, device.tensor([0, 1], [2])).item()) < 1e-4);
 * assert.ok((await loss.compute(scores, device.tensor([1, 0], [2])).item()) > 9.9);
 * ```
 */
export function softmaxCrossEntropy(
  options: SoftmaxCrossEntropyOptions = {},
): Loss<SoftmaxCrossEntropyOptions> {
  resolveSoftmaxCrossEntropyOptions(options);
  return {
    name: "softmaxCrossEntropy",
    options,
    output: "scores",
    compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor {
      if (Array.isArray(predictions)) {
        throw new TypeError(
          `Cannot compute loss softmaxCrossEntropy: predictions must be one [batch, classes] tensor, got a list of ${predictions.length}`,
        );
      }
      const scores = predictions as Tensor;
      if (scores.rank !== 2 || targets.rank !== 1 || targets.shape[0] !== scores.shape[0]) {
        throw new TypeError(
          `Cannot compute loss softmaxCrossEntropy: predictions must be [batch, classes] and targets [batch]: current shapes are [${scores.shape}] and [${targets.shape}]`,
        );
      }
      if (ctx?.labels?.length === scores.shape[0]) {
        checkLabels("compute softmaxCrossEntropy", ctx.labels, scores.shape[1]);
      }
      return softmaxCrossEntropyLoss(scores, targets);
    },
  };
}
