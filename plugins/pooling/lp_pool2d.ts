/**
 * Lp pooling: `y = (Σ_window |x|^p)^(1/p)` (the survey's form), or with `mean: true`
 * `y = (mean_window |x|^p)^(1/p)`, which is average pooling of non-negative input at p = 1 and
 * approaches max pooling of `|x|` as p grows. Only valid (unpadded) positions take part.
 *
 * Gradient: `dx = dy · y^(1−p) · |x|^(p−1) · sign(x)` (divided by the window's count in the mean
 * form); a window whose output is 0 (all zeros) has gradient 0, never NaN. The CPU kernels scale
 * each window by its largest `|x|`, so large p (64 and beyond) neither overflows nor underflows.
 * @module
 */
import { defineOp, type Layer, type OpDef, runOp, type Tensor } from "@cnnlab/core";
import {
  type Pool2dAttrs,
  type Pool2dOptions,
  pool2dOutputShape,
  resolvePool2dOptions,
} from "./pool_options.ts";
import { backwardShape, referencePool, referencePoolBackward } from "./_reference.ts";
import { checkKeys, poolLayer } from "./_layer.ts";

/** Options of Lp pooling (layer and op function). */
export interface LpPool2dOptions extends Pool2dOptions {
  /** The exponent, a finite number ≥ 1. Required. */
  readonly p: number;
  /** Average `|x|^p` over the window instead of summing; default false. */
  readonly mean?: boolean;
}

/** Resolved attributes of `lpPool2d` and `lpPool2dBackward`. */
export interface LpPool2dAttrs extends Pool2dAttrs {
  /** The exponent. */
  readonly p: number;
  /** Mean form. */
  readonly mean: boolean;
}

/**
 * Resolves Lp pooling options; every default is set here: `stride = poolSize`, `padding = 0`,
 * `mean = false`; `p` has no default.
 *
 * @param options The user's options.
 * @param what The layer or op name, for messages (default `"lpPool2d"`).
 * @returns The op attributes.
 * @throws {RangeError} If `p` is missing, below 1 or not finite, `mean` is not a boolean, or a window option is invalid.
 * @example The mean form of L2 pooling
 * ```ts
 * import { resolveLpPool2dOptions } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = resolveLpPool2dOptions({ poolSize: 2, p: 2, mean: true });
 * assert.equal(attrs.p, 2);
 * assert.throws(() => resolveLpPool2dOptions({ poolSize: 2, p: 0.5 }), RangeError);
 * ```
 */
export function resolveLpPool2dOptions(options: LpPool2dOptions, what = "lpPool2d"): LpPool2dAttrs {
  const window = resolvePool2dOptions(options, what);
  const { p, mean = false } = options;
  if (typeof p !== "number" || !Number.isFinite(p) || p < 1) {
    throw new RangeError(
      `Cannot create ${what}: option "p" must be a finite number ≥ 1, got ${JSON.stringify(p)}`,
    );
  }
  if (typeof mean !== "boolean") {
    throw new RangeError(
      `Cannot create ${what}: option "mean" must be true or false, got ${JSON.stringify(mean)}`,
    );
  }
  return { ...window, p, mean };
}

/**
 * The gradient of `lpPool2d`: inputs `x`, `y` (the forward output) and `dy`; output `dx` of
 * `x`'s shape. Not itself differentiable.
 *
 * @example L2 pooling of (3, 4): dx = dy · x / y
 * ```ts
 * import { lpPool2dBackwardOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [1, 2], stride: [1, 2], padding: [0, 0], p: 2, mean: false } as const;
 * const dx = lpPool2dBackwardOp.reference(
 *   [Float32Array.of(3, 4), Float32Array.of(5), Float32Array.of(10)],
 *   [[1, 1, 1, 2], [1, 1, 1, 1], [1, 1, 1, 1]], attrs, [1, 1, 1, 2]);
 * assert.deepEqual([...dx], [6, 8]);
 * ```
 */
export const lpPool2dBackwardOp: OpDef<LpPool2dAttrs> = defineOp<LpPool2dAttrs>({
  name: "lpPool2dBackward",
  inputs: ["x", "y", "dy"],
  outputShape([x, y, dy], attrs) {
    if (y.length !== dy.length || y.some((d, i) => d !== dy[i])) {
      throw new TypeError(`Cannot run lpPool2dBackward: y [${y}] and dy [${dy}] must have one shape`);
    }
    return backwardShape(x, dy, attrs, "lpPool2dBackward");
  },
  reference: ([x, y, dy], [shape, , dyShape], { p, mean, ...attrs }) =>
    referencePoolBackward(
      x,
      shape,
      attrs,
      dyShape,
      (values, o) =>
        values.map((v) =>
          y[o] === 0 ? 0 : dy[o] * Math.pow(y[o], 1 - p) * Math.pow(Math.abs(v), p - 1) * Math.sign(v) /
            (mean ? values.length : 1)
        ),
    ),
});

/**
 * The Lp pooling op on NCHW input, attributes resolved by `resolveLpPool2dOptions`. Its
 * reference kernel is the plain formula (no scaling), exact in float64 for moderate `|x|^p`.
 *
 * @example The reference kernel: L2 pooling of (3, 4) is 5
 * ```ts
 * import { lpPool2dOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [1, 2], stride: [1, 2], padding: [0, 0], p: 2, mean: false } as const;
 * assert.deepEqual([...lpPool2dOp.reference([Float32Array.of(3, -4)], [[1, 1, 1, 2]], attrs, [1, 1, 1, 1])], [5]);
 * ```
 */
export const lpPool2dOp: OpDef<LpPool2dAttrs> = defineOp<LpPool2dAttrs>({
  name: "lpPool2d",
  inputs: ["x"],
  outputShape: ([x], attrs) => pool2dOutputShape(x, attrs, "lpPool2d"),
  reference: ([x], [shape], { p, mean, ...attrs }, outShape) =>
    referencePool(x, shape, attrs, outShape, (values) => {
      const s = values.reduce((acc, v) => acc + Math.pow(Math.abs(v), p), 0);
      return Math.pow(mean ? s / values.length : s, 1 / p);
    }),
  grads: [({ dy, inputs: [x], output, attrs }) => runOp(lpPool2dBackwardOp, [x, output, dy], attrs)],
});

/**
 * Lp-pools a tensor: `[n, c, h, w]` → `[n, c, oh, ow]`.
 *
 * @param x NCHW input.
 * @param options Window options plus `p` (required, ≥ 1) and `mean` (default false).
 * @returns The pooled tensor, differentiable with respect to `x`.
 * @throws {RangeError} If an option is invalid.
 * @throws {TypeError} If `x` is not rank 4 or smaller than one window.
 * @example L1 pooling sums absolute values
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling, { applyLpPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(pooling).device("cpu");
 * const x = device.tensor([1, -2, 3, -4], [1, 1, 2, 2]);
 * assert.deepEqual([...applyLpPool2d(x, { poolSize: 2, p: 1 }).dataSync()], [10]);
 * ```
 */
export function applyLpPool2d(x: Tensor, options: LpPool2dOptions): Tensor {
  return runOp(lpPool2dOp, [x], resolveLpPool2dOptions(options));
}

/**
 * Creates an Lp pooling layer (registered as `"lpPool2d"`). No parameters; flops = output
 * elements × window size.
 *
 * @param options `poolSize` (required), `stride` (default `poolSize`), `padding` (default 0),
 *   `p` (required, finite, ≥ 1), `mean` (default false).
 * @returns The layer.
 * @throws {RangeError} If an option is invalid or unknown (`p < 1` included).
 * @example L2 pooling in a model spec
 * ```ts
 * import { lpPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const layer = lpPool2d({ poolSize: 2, p: 2 });
 * assert.deepEqual(layer.outputShape([1, 6, 28, 28]), [1, 6, 14, 14]);
 * assert.throws(() => lpPool2d({ poolSize: 2, p: 0 }), RangeError);
 * ```
 */
export function lpPool2d(options: LpPool2dOptions): Layer<LpPool2dOptions> {
  checkKeys(options, ["poolSize", "stride", "padding", "p", "mean"], "lpPool2d");
  const attrs = resolveLpPool2dOptions(options);
  return poolLayer("lpPool2d", options, attrs, (x) => runOp(lpPool2dOp, [x], attrs));
}
