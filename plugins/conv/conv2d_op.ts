/**
 * The `conv2d` op and its two adjoints, `conv2dBackpropInput` and `conv2dBackpropFilter`: contracts,
 * plain reference kernels (the specification) and lazy gradients.
 *
 * Each op is bilinear in its two inputs, so every gradient is one of the three ops again:
 * conv2d's input gradient is `conv2dBackpropInput`, its filter gradient `conv2dBackpropFilter`;
 * `conv2dBackpropInput(dy, w)` differentiates to `conv2d(g, w)` and `conv2dBackpropFilter(g, dy)`;
 * `conv2dBackpropFilter(x, dy)` to `conv2dBackpropInput(dy, g)` and `conv2d(x, g)`.
 * @module
 */
import { defineOp, type OpDef, ops, runOp, type Shape, shapesEqual, type Tensor } from "@cnnlab/core";
import {
  type Conv2dAttrs,
  type Conv2dAttrsInput,
  type Conv2dBiasAttrs,
  convGeometry,
  resolveConv2dAttrs,
} from "./_geometry.ts";

export type { Conv2dAttrs, Conv2dAttrsInput, Conv2dBiasAttrs, Pair } from "./_geometry.ts";

/** Attributes of `conv2dBackpropInput`: the forward attributes plus the forward input's shape. */
export interface Conv2dBackpropInputAttrs extends Conv2dAttrs {
  /** Shape of the forward input `x`, `[n, cIn, h, w]` (the output of this op). */
  readonly inputShape: Shape;
}

/** Attributes of `conv2dBackpropFilter`: the forward attributes plus the filter's shape. */
export interface Conv2dBackpropFilterAttrs extends Conv2dAttrs {
  /** Shape of the forward filter `w`, `[cOut, cIn/groups, kh, kw]` (the output of this op). */
  readonly filterShape: Shape;
}

function forwardAttrs(a: Conv2dAttrs): Conv2dAttrs {
  return { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups };
}

function checkDy(op: string, dy: Shape, x: Shape, w: Shape, attrs: Conv2dAttrs): void {
  const g = convGeometry(op, x, w, attrs);
  const want = [g.n, g.cOut, g.oh, g.ow];
  if (!shapesEqual(dy, want)) {
    throw new TypeError(
      `Cannot apply ${op} to dy [${dy}]: the forward conv2d of input [${x}] by filter [${w}] gives [${want}]`,
    );
  }
}

/**
 * 2-D cross-correlation (deep-learning "convolution") of NCHW input `x` `[n, cIn, h, w]` by an OIHW
 * filter `w` `[cOut, cIn/groups, kh, kw]` with symmetric zero padding, stride, dilation and groups:
 * `y[b, o, i, j] = Σ_{c, p, q} x[b, g·cg + c, i·sh − ph + p·dh, j·sw − pw + q·dw] · w[o, c, p, q]`,
 * where `g = ⌊o / (cOut/groups)⌋` and out-of-range input positions read zero.
 *
 * @example The output shape of a strided, padded convolution
 * ```ts
 * import { conv2dOp } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const attrs = { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * assert.deepEqual(conv2dOp.outputShape([[4, 3, 32, 32], [8, 3, 3, 3]], attrs), [4, 8, 16, 16]);
 * ```
 */
export const conv2dOp: OpDef<Conv2dAttrs> = defineOp<Conv2dAttrs>({
  name: "conv2d",
  inputs: ["x", "w"],
  outputShape([x, w], attrs) {
    const g = convGeometry("conv2d", x, w, attrs);
    return [g.n, g.cOut, g.oh, g.ow];
  },
  reference([x, w], [xs, ws], attrs) {
    const { n, cIn, h, w: wd, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og } = convGeometry(
      "conv2d",
      xs,
      ws,
      attrs,
    );
    const y = new Float32Array(n * cOut * oh * ow);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cOut; o++) {
        const g = Math.floor(o / og);
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            let s = 0;
            for (let c = 0; c < cg; c++) {
              for (let p = 0; p < kh; p++) {
                for (let q = 0; q < kw; q++) {
                  const iy = i * sh - ph + p * dh, ix = j * sw - pw + q * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                  s += x[((b * cIn + g * cg + c) * h + iy) * wd + ix] * w[((o * cg + c) * kh + p) * kw + q];
                }
              }
            }
            y[((b * cOut + o) * oh + i) * ow + j] = s;
          }
        }
      }
    }
    return y;
  },
  grads: [
    ({ dy, inputs: [x, w], attrs }) =>
      conv2dBackpropInput(dy, w, { ...forwardAttrs(attrs), inputShape: x.shape }),
    ({ dy, inputs: [x, w], attrs }) =>
      conv2dBackpropFilter(x, dy, { ...forwardAttrs(attrs), filterShape: w.shape }),
  ],
});

/**
 * The gradient of `conv2d` with respect to its input: scatters `dy` `[n, cOut, oh, ow]` back through
 * the filter `w` into `dx` of shape `inputShape` (a transposed convolution):
 * `dx[b, g·cg + c, i·sh − ph + p·dh, j·sw − pw + q·dw] += dy[b, o, i, j] · w[o, c, p, q]`.
 *
 * @example Its output is the forward input's shape, which a strided dy alone does not determine
 * ```ts
 * import { conv2dBackpropInputOp } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const attrs = { stride: [2, 2], padding: [0, 0], dilation: [1, 1], groups: 1, inputShape: [1, 1, 6, 6] } as const;
 * assert.deepEqual(conv2dBackpropInputOp.outputShape([[1, 1, 2, 2], [1, 1, 3, 3]], attrs), [1, 1, 6, 6]);
 * ```
 */
export const conv2dBackpropInputOp: OpDef<Conv2dBackpropInputAttrs> = defineOp<Conv2dBackpropInputAttrs>({
  name: "conv2dBackpropInput",
  inputs: ["dy", "w"],
  outputShape([dy, w], attrs) {
    checkDy("conv2dBackpropInput", dy, attrs.inputShape, w, attrs);
    return [...attrs.inputShape];
  },
  reference([dy, w], [, ws], attrs) {
    const { n, cIn, h, w: wd, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og } = convGeometry(
      "conv2dBackpropInput",
      attrs.inputShape,
      ws,
      attrs,
    );
    const dx = new Float32Array(n * cIn * h * wd);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cOut; o++) {
        const g = Math.floor(o / og);
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            const d = dy[((b * cOut + o) * oh + i) * ow + j];
            for (let c = 0; c < cg; c++) {
              for (let p = 0; p < kh; p++) {
                for (let q = 0; q < kw; q++) {
                  const iy = i * sh - ph + p * dh, ix = j * sw - pw + q * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                  dx[((b * cIn + g * cg + c) * h + iy) * wd + ix] += d * w[((o * cg + c) * kh + p) * kw + q];
                }
              }
            }
          }
        }
      }
    }
    return dx;
  },
  grads: [
    ({ dy: g, inputs: [, w], attrs }) => conv2d(g, w, forwardAttrs(attrs)),
    ({ dy: g, inputs: [dy, w], attrs }) =>
      conv2dBackpropFilter(g, dy, { ...forwardAttrs(attrs), filterShape: w.shape }),
  ],
});

/**
 * The gradient of `conv2d` with respect to its filter: correlates the input `x` with `dy` into `dw`
 * of shape `filterShape`: `dw[o, c, p, q] = Σ_{b, i, j} x[b, g·cg + c, i·sh − ph + p·dh, j·sw − pw + q·dw] · dy[b, o, i, j]`.
 *
 * @example Its output is the filter's shape
 * ```ts
 * import { conv2dBackpropFilterOp } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const attrs = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 2, filterShape: [4, 1, 3, 3] } as const;
 * assert.deepEqual(conv2dBackpropFilterOp.outputShape([[1, 2, 5, 5], [1, 4, 3, 3]], attrs), [4, 1, 3, 3]);
 * ```
 */
export const conv2dBackpropFilterOp: OpDef<Conv2dBackpropFilterAttrs> = defineOp<Conv2dBackpropFilterAttrs>({
  name: "conv2dBackpropFilter",
  inputs: ["x", "dy"],
  outputShape([x, dy], attrs) {
    checkDy("conv2dBackpropFilter", dy, x, attrs.filterShape, attrs);
    return [...attrs.filterShape];
  },
  reference([x, dy], [xs], attrs) {
    const { n, cIn, h, w: wd, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og } = convGeometry(
      "conv2dBackpropFilter",
      xs,
      attrs.filterShape,
      attrs,
    );
    const dwt = new Float32Array(cOut * cg * kh * kw);
    for (let o = 0; o < cOut; o++) {
      const g = Math.floor(o / og);
      for (let c = 0; c < cg; c++) {
        for (let p = 0; p < kh; p++) {
          for (let q = 0; q < kw; q++) {
            let s = 0;
            for (let b = 0; b < n; b++) {
              for (let i = 0; i < oh; i++) {
                for (let j = 0; j < ow; j++) {
                  const iy = i * sh - ph + p * dh, ix = j * sw - pw + q * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                  s += x[((b * cIn + g * cg + c) * h + iy) * wd + ix] *
                    dy[((b * cOut + o) * oh + i) * ow + j];
                }
              }
            }
            dwt[((o * cg + c) * kh + p) * kw + q] = s;
          }
        }
      }
    }
    return dwt;
  },
  grads: [
    ({ dy: g, inputs: [x, dy], attrs }) =>
      conv2dBackpropInput(dy, g, { ...forwardAttrs(attrs), inputShape: x.shape }),
    ({ dy: g, inputs: [x], attrs }) => conv2d(x, g, forwardAttrs(attrs)),
  ],
});

/**
 * Convolves an NCHW batch by an OIHW filter (the `conv2d` op).
 *
 * @param x Input `[n, cIn, h, w]`.
 * @param w Filter `[cOut, cIn/groups, kh, kw]`.
 * @param attrs Stride, padding, dilation (numbers or `[h, w]` pairs) and groups; defaults 1, 0, 1, 1.
 * @returns `[n, cOut, oh, ow]` with `o = ⌊(i + 2p − d·(k − 1) − 1)/s⌋ + 1`.
 * @throws {TypeError} If the shapes disagree or the output would be smaller than 1×1.
 * @throws {RangeError} If an attribute is not a valid integer.
 * @example A 3×3 box filter over a 4×4 image of ones, padded by one
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import conv, { convOps } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(conv).device("cpu");
 * const x = device.fill([1, 1, 4, 4], 1), w = device.fill([1, 1, 3, 3], 1);
 * const y = convOps.conv2d(x, w, { padding: 1 });
 * assert.deepEqual([...y.dataSync()].slice(0, 4), [4, 6, 6, 4]);
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, attrs: Conv2dAttrsInput = {}): Tensor {
  return runOp(conv2dOp, [x, w], resolveConv2dAttrs(attrs));
}

/**
 * `conv2d` plus a per-filter bias, one op: `y[b, o, i, j] = conv2d(x, w)[b, o, i, j] + bias[o]`, then,
 * with attribute `relu`, `max(y, 0)` (the `relu` op's values: NaN stays NaN). A kernel can add the
 * bias and clamp while the outputs are still in registers (the CPU row convolution does) instead of in
 * more passes over them; the `conv2d` layer uses it where the backend has a kernel, with `relu` where
 * a ReLU layer follows it in inference (see `Layer.fuseWith`). With `relu`, the gradients pass `dy`
 * where the output is positive, as the ReLU's would.
 *
 * @example The reference: a 1×1 filter of 2 plus a bias of 1
 * ```ts
 * import { conv2dBiasOp } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const attrs = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const y = conv2dBiasOp.reference(
 *   [new Float32Array([1, 2]), new Float32Array([2]), new Float32Array([1])],
 *   [[1, 1, 1, 2], [1, 1, 1, 1], [1]],
 *   attrs,
 *   [1, 1, 1, 2],
 * );
 * assert.deepEqual([...y], [3, 5]);
 * ```
 */
export const conv2dBiasOp: OpDef<Conv2dBiasAttrs> = defineOp<Conv2dBiasAttrs>({
  name: "conv2dBias",
  inputs: ["x", "w", "bias"],
  outputShape([x, w, bias], attrs) {
    const shape = conv2dOp.outputShape([x, w], attrs);
    if (!shapesEqual(bias, [shape[1]])) {
      throw new TypeError(
        `Cannot apply conv2dBias with bias [${bias}]: it must be [${
          shape[1]
        }], one value per filter of w [${w}]`,
      );
    }
    return shape;
  },
  reference([x, w, bias], [xs, ws], attrs, outShape) {
    const y = conv2dOp.reference([x, w], [xs, ws], attrs, outShape);
    const [n, cOut, oh, ow] = outShape, plane = oh * ow;
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cOut; o++) {
        for (let i = (b * cOut + o) * plane; i < (b * cOut + o + 1) * plane; i++) y[i] += bias[o];
      }
    }
    if (attrs.relu) { for (let i = 0; i < y.length; i++) y[i] = Math.max(y[i], 0); }
    return y;
  },
  grads: [
    ({ dy, output, inputs: [x, w], attrs }) =>
      conv2dBackpropInput(beforeRelu(dy, output, attrs), w, { ...forwardAttrs(attrs), inputShape: x.shape }),
    ({ dy, output, inputs: [x, w], attrs }) =>
      conv2dBackpropFilter(x, beforeRelu(dy, output, attrs), {
        ...forwardAttrs(attrs),
        filterShape: w.shape,
      }),
    ({ dy, output, attrs }) => ops.sum(beforeRelu(dy, output, attrs), { axes: [0, 2, 3] }),
  ],
});

/** The gradient of the sums before `conv2dBias`'s ReLU: `dy` where the output is positive (1 = sign). */
function beforeRelu(dy: Tensor, output: Tensor, attrs: Conv2dBiasAttrs): Tensor {
  return attrs.relu ? ops.mul(dy, ops.sign(output)) : dy;
}

/**
 * `conv2d(x, w) + bias` per filter, then a ReLU with `relu: true`, as one op (`conv2dBiasOp`).
 *
 * @param x Input `[n, cIn, h, w]`.
 * @param w Filter `[cOut, cIn/groups, kh, kw]`.
 * @param bias `[cOut]`.
 * @param attrs Stride, padding, dilation and groups, as for `conv2d`, and `relu` (default false).
 * @returns `[n, cOut, oh, ow]`.
 * @throws {TypeError} If a shape does not fit.
 * @example Same as conv2d plus the bias; with `relu`, negative sums give 0
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import conv, { convOps } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(conv).device("cpu");
 * const x = device.fill([1, 1, 4, 4], 1), w = device.fill([2, 1, 3, 3], 1);
 * const y = convOps.conv2dBias(x, w, device.tensor([10, 20], [2]), { padding: 1 });
 * assert.deepEqual([...y.dataSync()].slice(0, 4), [14, 16, 16, 14]);
 * assert.deepEqual([...y.dataSync()].slice(16, 20), [24, 26, 26, 24]);
 * const clamped = convOps.conv2dBias(x, w, device.tensor([-5, 0], [2]), { padding: 1, relu: true });
 * assert.deepEqual([...clamped.dataSync()].slice(0, 4), [0, 1, 1, 0]);
 * ```
 */
export function conv2dBias(
  x: Tensor,
  w: Tensor,
  bias: Tensor,
  attrs: Conv2dAttrsInput & { readonly relu?: boolean } = {},
): Tensor {
  return runOp(conv2dBiasOp, [x, w, bias], { ...resolveConv2dAttrs(attrs), relu: attrs.relu === true });
}

/**
 * Back-propagates `dy` through a convolution to its input (the `conv2dBackpropInput` op).
 *
 * @param dy Gradient of the output, `[n, cOut, oh, ow]`.
 * @param w The filter, `[cOut, cIn/groups, kh, kw]`.
 * @param attrs The forward attributes and `inputShape`, the forward input's shape.
 * @returns `dx`, of shape `inputShape`.
 * @throws {TypeError} If `dy` is not the forward output shape for `inputShape` and `w`.
 * @throws {RangeError} If an attribute is not a valid integer.
 * @example The input gradient of a sum of a 2×2 box filter counts the windows over each pixel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import conv, { convOps } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(conv).device("cpu");
 * const dy = device.fill([1, 1, 2, 2], 1), w = device.fill([1, 1, 2, 2], 1);
 * const dx = convOps.conv2dBackpropInput(dy, w, { inputShape: [1, 1, 3, 3] });
 * assert.deepEqual([...dx.dataSync()], [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * ```
 */
export function conv2dBackpropInput(
  dy: Tensor,
  w: Tensor,
  attrs: Conv2dAttrsInput & { readonly inputShape: Shape },
): Tensor {
  return runOp(conv2dBackpropInputOp, [dy, w], {
    ...resolveConv2dAttrs(attrs),
    inputShape: attrs.inputShape,
  });
}

/**
 * Back-propagates `dy` through a convolution to its filter (the `conv2dBackpropFilter` op).
 *
 * @param x The forward input, `[n, cIn, h, w]`.
 * @param dy Gradient of the output, `[n, cOut, oh, ow]`.
 * @param attrs The forward attributes and `filterShape`, the filter's shape.
 * @returns `dw`, of shape `filterShape`.
 * @throws {TypeError} If `dy` is not the forward output shape for `x` and `filterShape`.
 * @throws {RangeError} If an attribute is not a valid integer.
 * @example With `dy` all ones, each filter tap sums the input pixels it sees
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import conv, { convOps } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(conv).device("cpu");
 * const x = device.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), dy = device.fill([1, 1, 2, 2], 1);
 * const dw = convOps.conv2dBackpropFilter(x, dy, { filterShape: [1, 1, 2, 2] });
 * assert.deepEqual([...dw.dataSync()], [12, 16, 24, 28]);
 * ```
 */
export function conv2dBackpropFilter(
  x: Tensor,
  dy: Tensor,
  attrs: Conv2dAttrsInput & { readonly filterShape: Shape },
): Tensor {
  return runOp(conv2dBackpropFilterOp, [x, dy], {
    ...resolveConv2dAttrs(attrs),
    filterShape: attrs.filterShape,
  });
}
