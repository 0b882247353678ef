/**
 * The `klDivergence` loss: `KL(p ‖ softmax(logits))` averaged over the batch, where the model's
 * output is LOGITS and the targets are class indices `[batch]` or distributions `[batch, classes]`.
 * @module
 */
import type { Loss, LossContext, Tensor } from "@cnnlab/core";
import { checkLabels } from "./_labels.ts";
import { klDivergenceLoss } from "./kl_divergence_op.ts";

/** Options of `klDivergence`. */
export interface KlDivergenceOptions {
  /** ε in [0, 1): targets become `(1 − ε)·p + ε/k`. Default 0 (see `resolveKlDivergenceOptions`). */
  readonly labelSmoothing?: number;
}

/** `KlDivergenceOptions` with every default filled in. */
export interface ResolvedKlDivergenceOptions {
  /** ε in [0, 1). */
  readonly labelSmoothing: number;
}

/**
 * Resolves the options of `klDivergence`; the one place its defaults are written.
 *
 * - `labelSmoothing` (default 0): ε in [0, 1); the targets become `(1 − ε)·p + ε/k`, for class
 *   indices (a smoothed one-hot) and for distributions alike.
 *
 * @param options The user's options.
 * @returns The options with defaults filled in.
 * @throws {TypeError} If `options` is not a plain object.
 * @throws {RangeError} If a key is unknown or `labelSmoothing` is not a number in [0, 1).
 * @example Defaults
 * ```ts
 * import { resolveKlDivergenceOptions } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveKlDivergenceOptions({}), { labelSmoothing: 0 });
 * assert.throws(() => resolveKlDivergenceOptions({ labelSmoothing: 1 }), RangeError);
 * ```
 */
export function resolveKlDivergenceOptions(options: KlDivergenceOptions): ResolvedKlDivergenceOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`Cannot create loss klDivergence: options must be an object, got ${options}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "labelSmoothing") {
      throw new RangeError(
        `Cannot create loss klDivergence: unknown option "${key}"; the only option is labelSmoothing`,
      );
    }
  }
  const { labelSmoothing = 0 } = options;
  if (typeof labelSmoothing !== "number" || !(labelSmoothing >= 0 && labelSmoothing < 1)) {
    throw new RangeError(
      `Cannot create loss klDivergence: option labelSmoothing is ${labelSmoothing}; use a number in [0, 1)`,
    );
  }
  return { labelSmoothing };
}

/**
 * Creates the Kullback–Leibler divergence loss `(1/n) Σᵢ Σⱼ pᵢⱼ·(log pᵢⱼ − log qᵢⱼ)` with
 * `q = softmax(predictions)` and `0·log 0 = 0`.
 *
 * The predictions are LOGITS (unnormalised scores, as a classifier's last dense layer gives), not
 * probabilities: the softmax is taken inside, through a stable log-softmax. The targets are either
 * class indices `[batch]` (p is one-hot, so with ε = 0 this equals `softmaxCrossEntropy`) or
 * distributions `[batch, classes]` whose rows are non-negative and sum to 1 within 1e-3 (otherwise
 * a RangeError naming `klDivergence`, raised when the kernel runs). With `labelSmoothing` ε the
 * targets become `(1 − ε)·p + ε/k`. The gradient flows to the logits and, for distribution targets,
 * to the targets too (`(1 − ε)·(log p' − log q + 1)/n` where p' > 0, 0 where p' = 0).
 *
 * Targets are checked by the CPU kernels. WebGPU kernels cannot check them: there, class indices
 * are checked only when passed on the host as `ctx.labels` (here, before any kernel runs), and
 * distribution rows not at all; invalid targets are the caller's responsibility.
 *
 * @param options `labelSmoothing` (default 0).
 * @returns A loss whose `compute(logits [n, k], targets [n] | [n, k])` returns a scalar tensor; `output` is `"scores"`.
 * @throws {TypeError} If `options` is not an object.
 * @throws {RangeError} If an option is unknown or out of range; `compute` throws one for a bad label
 *   in `ctx.labels` (class-index targets).
 * @example Against a one-hot target it is the cross-entropy
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { klDivergence } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const logits = device.fill([2, 4], 0);
 * const fromLabels = await klDivergence({}).compute(logits, device.tensor([1, 3], [2])).item();
 * assert.ok(Math.abs(fromLabels - Math.log(4)) < 1e-6);
 * const uniform = device.fill([2, 4], 0.25);
 * assert.ok(Math.abs(await klDivergence({}).compute(logits, uniform).item()) < 1e-6);
 * ```
 */
export function klDivergence(options: KlDivergenceOptions = {}): Loss<KlDivergenceOptions> {
  const { labelSmoothing } = resolveKlDivergenceOptions(options);
  return {
    name: "klDivergence",
    options,
    output: "scores",
    compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor {
      if (Array.isArray(predictions)) {
        throw new TypeError(
          `Cannot compute loss klDivergence: predictions must be one [batch, classes] tensor of logits, got a list of ${predictions.length}`,
        );
      }
      const logits = predictions as Tensor;
      const [n, k] = logits.shape;
      const ok = logits.rank === 2 && targets.shape[0] === n &&
        (targets.rank === 1 || (targets.rank === 2 && targets.shape[1] === k));
      if (!ok) {
        throw new TypeError(
          `Cannot compute loss klDivergence: predictions must be logits [batch, classes] and targets class indices [batch] or distributions [batch, classes]: current shapes are [${logits.shape}] and [${targets.shape}]`,
        );
      }
      if (targets.rank === 1 && ctx?.labels?.length === n) checkLabels("compute klDivergence", ctx.labels, k);
      return klDivergenceLoss(logits, targets, { labelSmoothing });
    },
  };
}
