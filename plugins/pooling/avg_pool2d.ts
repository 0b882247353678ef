/**
 * Average pooling: each output is the mean of the valid positions of its window (padding is not
 * counted, so with padding 0 this is TensorFlow.js's `"valid"` average pooling). The gradient
 * spreads `dy / count` over the window.
 * @module
 */
import { defineOp, type Layer, type OpDef, runOp, type Shape, type Tensor } from "@cnnlab/core";
import {
  type Pool2dAttrs,
  type Pool2dOptions,
  pool2dOutputShape,
  resolvePool2dOptions,
} from "./pool_options.ts";
import { backwardShape, referencePool, referencePoolBackward } from "./_reference.ts";
import { checkKeys, poolLayer } from "./_layer.ts";

/** Attributes of `avgPool2dBackward`: the window and the forward input's shape (its output shape). */
export interface AvgPool2dBackwardAttrs extends Pool2dAttrs {
  /** `[n, c, h, w]` of the forward input. */
  readonly inputShape: Shape;
}

function windowOf({ poolSize, stride, padding }: Pool2dAttrs): Pool2dAttrs {
  return { poolSize, stride, padding };
}

/**
 * The gradient of `avgPool2d`: input `dy`, output `dx` of `attrs.inputShape`. Linear in `dy`;
 * its own gradient is `avgPool2d`.
 *
 * @example One 2×2 window shares its gradient equally
 * ```ts
 * import { avgPool2dBackwardOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [2, 2], stride: [2, 2], padding: [0, 0], inputShape: [1, 1, 2, 2] } as const;
 * const dx = avgPool2dBackwardOp.reference([Float32Array.of(8)], [[1, 1, 1, 1]], attrs, [1, 1, 2, 2]);
 * assert.deepEqual([...dx], [2, 2, 2, 2]);
 * ```
 */
export const avgPool2dBackwardOp: OpDef<AvgPool2dBackwardAttrs> = defineOp<AvgPool2dBackwardAttrs>({
  name: "avgPool2dBackward",
  inputs: ["dy"],
  outputShape: ([dy], attrs) => backwardShape(attrs.inputShape, dy, attrs, "avgPool2dBackward"),
  reference: ([dy], [dyShape], attrs) =>
    referencePoolBackward(
      new Float32Array(attrs.inputShape.reduce((p, d) => p * d, 1)),
      attrs.inputShape,
      attrs,
      dyShape,
      (values, o) => values.map(() => dy[o] / values.length),
    ),
  grads: [({ dy, attrs }) => runOp(avgPool2dOp, [dy], windowOf(attrs))],
});

/**
 * The average pooling op on NCHW input, attributes resolved by `resolvePool2dOptions`.
 *
 * @example The reference kernel on one 2×2 window
 * ```ts
 * import { avgPool2dOp } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = { poolSize: [2, 2], stride: [2, 2], padding: [0, 0] } as const;
 * assert.deepEqual([...avgPool2dOp.reference([Float32Array.of(1, 4, 3, 2)], [[1, 1, 2, 2]], attrs, [1, 1, 1, 1])], [2.5]);
 * ```
 */
export const avgPool2dOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: "avgPool2d",
  inputs: ["x"],
  outputShape: ([x], attrs) => pool2dOutputShape(x, attrs, "avgPool2d"),
  reference: ([x], [shape], attrs, outShape) =>
    referencePool(x, shape, attrs, outShape, (values) => values.reduce((s, v) => s + v, 0) / values.length),
  grads: [
    ({ dy, inputs: [x], attrs }) =>
      runOp(avgPool2dBackwardOp, [dy], { ...windowOf(attrs), inputShape: x.shape }),
  ],
});

/**
 * Average-pools a tensor: `[n, c, h, w]` → `[n, c, oh, ow]`, counting only valid (unpadded) positions.
 *
 * @param x NCHW input.
 * @param options Window size, stride (default `poolSize`) and padding (default 0).
 * @returns The pooled tensor, differentiable with respect to `x`.
 * @throws {RangeError} If an option is invalid.
 * @throws {TypeError} If `x` is not rank 4 or smaller than one window.
 * @example 2×2 average pooling
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import pooling, { applyAvgPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(pooling).device("cpu");
 * const x = device.tensor([1, 3, 5, 7], [1, 1, 2, 2]);
 * assert.deepEqual([...applyAvgPool2d(x, { poolSize: 2 }).dataSync()], [4]);
 * ```
 */
export function applyAvgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  return runOp(avgPool2dOp, [x], resolvePool2dOptions(options, "avgPool2d"));
}

/**
 * Creates an average pooling layer (registered as `"avgPool2d"`). No parameters; flops = output
 * elements × window size.
 *
 * @param options `poolSize` (required), `stride` (default `poolSize`), `padding` (default 0; padded positions are not counted).
 * @returns The layer.
 * @throws {RangeError} If an option is invalid or unknown.
 * @example Flops of LeNet-5's second pooling
 * ```ts
 * import { avgPool2d } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.equal(avgPool2d({ poolSize: 2 }).flops!([1, 16, 10, 10]), 16 * 5 * 5 * 4);
 * ```
 */
export function avgPool2d(options: Pool2dOptions): Layer<Pool2dOptions> {
  checkKeys(options, ["poolSize", "stride", "padding"], "avgPool2d");
  const attrs = resolvePool2dOptions(options, "avgPool2d");
  return poolLayer("avgPool2d", options, attrs, (x) => runOp(avgPool2dOp, [x], attrs));
}
