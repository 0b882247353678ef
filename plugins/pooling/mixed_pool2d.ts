/**
 * Mixed pooling (Yu et al., 2014): `y = λ·maxPool2d(x) + (1 − λ)·avgPool2d(x)`.
 *
 * It is composed from the max and average pooling ops with `scale` and `add`, so its gradient
 * comes from theirs and it needs no kernel of its own. λ = 1 and λ = 0 run only one of the two
 * ops, so the output is then exactly max or average pooling.
 *
 * λ in the layer: a fixed `lambda` option is used in training and inference alike. Otherwise,
 * in training one λ is drawn per forward pass (per layer call) from `ctx.rng`: in `"binary"`
 * mode (default, as in Yu et al.) λ ∈ {0, 1} with equal odds; in `"uniform"` mode (as the survey
 * text reads) λ ~ U[0, 1). In inference λ = 0.5, the expectation of either mode.
 * @module
 */
import { type ForwardContext, type Layer, ops, type Rng, runOp, type Tensor } from "@cnnlab/core";
import { type Pool2dAttrs, type Pool2dOptions, resolvePool2dOptions } from "./pool_options.ts";
import { maxPool2dOp } from "./max_pool2d.ts";
import { avgPool2dOp } from "./avg_pool2d.ts";
import { checkKeys, poolLayer } from "./_layer.ts";

/** How the mixed pooling layer draws λ in training when `lambda` is not fixed. */
export type MixedPool2dMode = "binary" | "uniform";

/** Options of the mixed pooling layer. */
export interface MixedPool2dOptions extends Pool2dOptions {
  /** A fixed λ in [0, 1], used in training and inference; default: drawn in training, 0.5 in inference. */
  readonly lambda?: number;
  /** How λ is drawn in training: `"binary"` (default, λ ∈ {0, 1}) or `"uniform"` (λ ~ U[0, 1)). */
  readonly mode?: MixedPool2dMode;
}

/** Resolved mixed pooling options. */
export interface MixedPool2dAttrs extends Pool2dAttrs {
  /** The fixed λ, or undefined when it is drawn. */
  readonly lambda: number | undefined;
  /** How λ is drawn. */
  readonly mode: MixedPool2dMode;
}

function checkLambda(lambda: unknown, what: string): void {
  if (typeof lambda !== "number" || !(lambda >= 0 && lambda <= 1)) {
    throw new RangeError(
      `Cannot create ${what}: option "lambda" must be a number in [0, 1], got ${JSON.stringify(lambda)}`,
    );
  }
}

/**
 * Resolves mixed pooling options; every default is set here: `stride = poolSize`, `padding = 0`,
 * `mode = "binary"`, `lambda` unset (drawn in training, 0.5 in inference).
 *
 * @param options The user's options.
 * @returns The resolved options.
 * @throws {RangeError} If `lambda` is outside [0, 1], `mode` is unknown, or a window option is invalid.
 * @example Defaults
 * ```ts
 * import { resolveMixedPool2dOptions } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const o = resolveMixedPool2dOptions({ poolSize: 2 });
 * assert.equal(o.mode, "binary");
 * assert.equal(o.lambda, undefined);
 * ```
 */
export function resolveMixedPool2dOptions(options: MixedPool2dOptions): MixedPool2dAttrs {
  const window = resolvePool2dOptions(options, "mixedPool2d");
  const { lambda, mode = "binary" } = options;
  if (lambda !== undefined) checkLambda(lambda, "mixedPool2d");
  if (mode !== "binary" && mode !== "uniform") {
    throw new RangeError(
      `Cannot create mixedPool2d: option "mode" must be "binary" or "uniform", got ${JSON.stringify(mode)}`,
    );
  }
  return { ...window, lambda, mode };
}

function mix(x: Tensor, window: Pool2dAttrs, lambda: number): Tensor {
  if (lambda === 1) return runOp(maxPool2dOp, [x], window);
  if (lambda === 0) return runOp(avgPool2dOp, [x], window);
  const max = ops.scale(runOp(maxPool2dOp, [x], window), lambda);
  return ops.add(max, ops.scale(runOp(avgPool2dOp, [x], window), 1 - lambda));
}

/**
 * Draws one λ for a training pass.
 *
 * @param rng The pass's generator.
 * @param mode `"binary"`: 0 or 1 with equal odds; `"uniform"`: U[0, 1).
 * @returns λ.
 * @example Binary draws are 0 or 1
 * ```ts
 * import { Rng } from "@cnnlab/core";
 * import { drawMixingLambda } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const lambda = drawMixingLambda(new Rng(1), "binary");
 * assert.ok(lambda === 0 || lambda === 1);
 * ```
 */
export function drawMixingLambda(rng: Rng, mode: MixedPool2dMode): number {
  return mode === "binary" ? (rng.next() < 0.5 ? 1 : 0) : rng.next();
}

/**
 * Mixed-pools a tensor with a given λ: `λ·maxPool2d(x) + (1 − λ)·avgPool2d(x)`.
 *
 * @param x NCHW input.
 * @param options Window options and `lambda` in [0, 1].
 * @returns The pooled tensor, differentiable with respect to `x`.
 * @throws {RangeError} If `lambda` or a window option is invalid.
 * @throws {TypeError} If `x` is not rank 4 or smaller than one window.
 * @example Halfway between max (4) and average (2.5)
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling, { applyMixedPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(pooling).device("cpu");
 * const x = device.tensor([1, 4, 3, 2], [1, 1, 2, 2]);
 * assert.deepEqual([...applyMixedPool2d(x, { poolSize: 2, lambda: 0.5 }).dataSync()], [3.25]);
 * ```
 */
export function applyMixedPool2d(x: Tensor, options: Pool2dOptions & { readonly lambda: number }): Tensor {
  checkLambda(options.lambda, "mixedPool2d");
  return mix(x, resolvePool2dOptions(options, "mixedPool2d"), options.lambda);
}

/**
 * Creates a mixed pooling layer (registered as `"mixedPool2d"`). No parameters; flops = output
 * elements × window size.
 *
 * @param options `poolSize` (required), `stride` (default `poolSize`), `padding` (default 0),
 *   `lambda` (default: drawn per training pass, 0.5 in inference), `mode` (default `"binary"`).
 * @returns The layer.
 * @throws {RangeError} If an option is invalid or unknown.
 * @example Inference uses λ = 0.5
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling, { mixedPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(pooling).device("cpu");
 * const layer = mixedPool2d({ poolSize: 2 });
 * const y = layer.forward(device.tensor([1, 4, 3, 2], [1, 1, 2, 2]), { training: false, rng: new Rng(0) });
 * assert.deepEqual([...y.dataSync()], [3.25]);
 * ```
 */
export function mixedPool2d(options: MixedPool2dOptions): Layer<MixedPool2dOptions> {
  checkKeys(options, ["poolSize", "stride", "padding", "lambda", "mode"], "mixedPool2d");
  const { lambda, mode, ...window } = resolveMixedPool2dOptions(options);
  return poolLayer(
    "mixedPool2d",
    options,
    window,
    (x: Tensor, ctx: ForwardContext) =>
      mix(x, window, lambda ?? (ctx.training ? drawMixingLambda(ctx.rng, mode) : 0.5)),
  );
}
