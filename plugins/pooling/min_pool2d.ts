/**
 * Min pooling: each output is the smallest value of its window; the gradient goes to the window's
 * argmin (the first one in row-major order on ties). Padded positions are ignored (as +∞).
 * Equal to `−maxPool2d(−x)`.
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

function firstArgmin(values: number[]): number {
  let k = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[k]) k = i;
  return k;
}

/**
 * The gradient of `minPool2d`: inputs `x` and `dy`, output `dx` of `x`'s shape with each `dy`
 * added at its window's first argmin. Not itself differentiable.
 *
 * @example Each 2×2 window sends its gradient to its minimum
 * ```ts
 * import { minPool2dBackwardOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
 * const dx = minPool2dBackwardOp.reference(
 *   [Float32Array.of(1, 4, 3, 2), Float32Array.of(10)], [[1, 1, 2, 2], [1, 1, 1, 1]], attrs, [1, 1, 2, 2]);
 * assert.deepEqual([...dx], [10, 0, 0, 0]);
 * ```
 */
export const minPool2dBackwardOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "minPool2dBackward",
  inputs: ["x", "dy"],
  outputShape: ([x, dy], attrs) => backwardShape(x, dy, attrs, "minPool2dBackward"),
  reference: ([x, dy], [shape, dyShape], attrs) =>
    referencePoolBackward(x, shape, attrs, dyShape, (values, o) => {
      const d = values.map(() => 0);
      d[firstArgmin(values)] = dy[o];
      return d;
    }),
});

/**
 * The min pooling op on NCHW input, attributes resolved by `resolvePool2dOptions`.
 *
 * @example The reference kernel on one 2×2 window
 * ```ts
 * import { minPool2dOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
 * assert.deepEqual([...minPool2dOp.reference([Float32Array.of(1, 4, 3, 2)], [[1, 1, 2, 2]], attrs, [1, 1, 1, 1])], [1]);
 * ```
 */
export const minPool2dOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "minPool2d",
  inputs: ["x"],
  outputShape: ([x], attrs) => pool2dOutputShape(x, attrs, "minPool2d"),
  reference: ([x], [shape], attrs, outShape) =>
    referencePool(x, shape, attrs, outShape, (values) => values[firstArgmin(values)]),
  grads: [({ dy, inputs: [x], attrs }) => runOp(minPool2dBackwardOp, [x, dy], attrs)],
});

/**
 * Min-pools a tensor: `[n, c, h, w]` → `[n, c, oh, ow]`.
 *
 * @param x NCHW input.
 * @param options Window size, stride (default `poolSize`) and padding (default 0).
 * @returns The pooled tensor, differentiable with respect to `x`.
 * @throws {RangeError} If an option is invalid.
 * @throws {TypeError} If `x` is not rank 4 or smaller than one window.
 * @example 2×2 min pooling
 * ```ts
 * import { ops, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling, { applyMinPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(pooling).device("cpu");
 * const x = device.tensor([1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16], [1, 1, 4, 4]);
 * assert.deepEqual([...applyMinPool2d(x, { poolSize: 2 }).dataSync()], [1, 5, 9, 13]);
 * ```
 */
export function applyMinPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  return runOp(minPool2dOp, [x], resolvePool2dOptions(options, "minPool2d"));
}

/**
 * Creates a min pooling layer (registered as `"minPool2d"`). No parameters; flops = output
 * elements × window size.
 *
 * @param options `poolSize` (required), `stride` (default `poolSize`), `padding` (default 0; padded positions are ignored).
 * @returns The layer.
 * @throws {RangeError} If an option is invalid or unknown.
 * @example Overlapping 3×3 windows with stride 2
 * ```ts
 * import { minPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.deepEqual(minPool2d({ poolSize: 3, stride: 2 }).outputShape([1, 8, 13, 13]), [1, 8, 6, 6]);
 * ```
 */
export function minPool2d(options: Pool2dOptions): Layer<Pool2dOptions> {
  checkKeys(options, ["poolSize", "stride", "padding"], "minPool2d");
  const attrs = resolvePool2dOptions(options, "minPool2d");
  return poolLayer("minPool2d", options, attrs, (x) => runOp(minPool2dOp, [x], attrs));
}
