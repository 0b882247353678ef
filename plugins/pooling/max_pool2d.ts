/**
 * Max pooling: each output is the largest value of its window; the gradient goes to the window's
 * argmax (the first one in row-major order on ties). Padded positions are ignored (as −∞).
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

function firstArgmax(values: number[]): number {
  let k = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[k]) k = i;
  return k;
}

/**
 * The gradient of `maxPool2d`: inputs `x` and `dy`, output `dx` of `x`'s shape with each `dy`
 * added at its window's first argmax. Not itself differentiable.
 *
 * @example Each 2×2 window sends its gradient to its maximum
 * ```ts
 * import { maxPool2dBackwardOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
 * const dx = maxPool2dBackwardOp.reference(
 *   [Float32Array.of(1, 4, 3, 2), Float32Array.of(10)], [[1, 1, 2, 2], [1, 1, 1, 1]], attrs, [1, 1, 2, 2]);
 * assert.deepEqual([...dx], [0, 10, 0, 0]);
 * ```
 */
export const maxPool2dBackwardOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "maxPool2dBackward",
  inputs: ["x", "dy"],
  outputShape: ([x, dy], attrs) => backwardShape(x, dy, attrs, "maxPool2dBackward"),
  reference: ([x, dy], [shape, dyShape], attrs) =>
    referencePoolBackward(x, shape, attrs, dyShape, (values, o) => {
      const d = values.map(() => 0);
      d[firstArgmax(values)] = dy[o];
      return d;
    }),
});

/**
 * The max pooling op on NCHW input, attributes resolved by `resolvePool2dOptions`.
 *
 * @example The reference kernel on one 2×2 window
 * ```ts
 * import { maxPool2dOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
 * assert.deepEqual([...maxPool2dOp.reference([Float32Array.of(1, 4, 3, 2)], [[1, 1, 2, 2]], attrs, [1, 1, 1, 1])], [4]);
 * ```
 */
export const maxPool2dOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "maxPool2d",
  inputs: ["x"],
  outputShape: ([x], attrs) => pool2dOutputShape(x, attrs, "maxPool2d"),
  reference: ([x], [shape], attrs, outShape) =>
    referencePool(x, shape, attrs, outShape, (values) => values[firstArgmax(values)]),
  grads: [({ dy, inputs: [x], attrs }) => runOp(maxPool2dBackwardOp, [x, dy], attrs)],
});

/**
 * Max-pools a tensor: `[n, c, h, w]` → `[n, c, oh, ow]`.
 *
 * @param x NCHW input.
 * @param options Window size, stride (default `poolSize`) and padding (default 0).
 * @returns The pooled tensor, differentiable with respect to `x`.
 * @throws {RangeError} If an option is invalid.
 * @throws {TypeError} If `x` is not rank 4 or smaller than one window.
 * @example 2×2 max pooling
 * ```ts
 * import { ops, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling, { applyMaxPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(pooling).device("cpu");
 * const x = device.tensor([1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16], [1, 1, 4, 4]);
 * assert.deepEqual([...applyMaxPool2d(x, { poolSize: 2 }).dataSync()], [4, 8, 12, 16]);
 * ```
 */
export function applyMaxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  return runOp(maxPool2dOp, [x], resolvePool2dOptions(options, "maxPool2d"));
}

/**
 * Creates a max pooling layer (registered as `"maxPool2d"`). No parameters; flops = output
 * elements × window size.
 *
 * @param options `poolSize` (required), `stride` (default `poolSize`), `padding` (default 0; padded positions are ignored).
 * @returns The layer.
 * @throws {RangeError} If an option is invalid or unknown.
 * @example Output shape of LeNet-5's first pooling
 * ```ts
 * import { maxPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.deepEqual(maxPool2d({ poolSize: 2 }).outputShape([64, 6, 28, 28]), [64, 6, 14, 14]);
 * ```
 */
export function maxPool2d(options: Pool2dOptions): Layer<Pool2dOptions> {
  checkKeys(options, ["poolSize", "stride", "padding"], "maxPool2d");
  const attrs = resolvePool2dOptions(options, "maxPool2d");
  return poolLayer("maxPool2d", options, attrs, (x) => runOp(maxPool2dOp, [x], attrs));
}
