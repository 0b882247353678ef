/**
 * Reductions over axes: `sum` and `max`, plus `sumTo` (undoes broadcasting) and `mean`.
 * @module
 */
import { defineOp, type OpDef } from "../op.ts";
import { type Shape, sizeOf, stridesOf } from "../shape.ts";
import { runOp, type Tensor } from "../tensor.ts";
import { broadcastTo, reshape } from "./layout.ts";
import { greaterEqual, mul, scale } from "./elementwise.ts";

/** Attributes of a reduction. */
export interface ReduceAttrs {
  /** Axes to reduce (negative counts from the end); all axes when omitted. */
  readonly axes?: readonly number[];
  /** Keep reduced axes as size 1. */
  readonly keepDims?: boolean;
}

/** Normalises reduction axes against a rank. */
export function reduceAxes(shape: Shape, attrs: ReduceAttrs, op: string): number[] {
  const axes = attrs.axes ?? shape.map((_, i) => i);
  return axes.map((a) => {
    const ax = a < 0 ? a + shape.length : a;
    if (!Number.isInteger(ax) || ax < 0 || ax >= shape.length) {
      throw new RangeError(`Cannot apply ${op} over axis ${a}: input has rank ${shape.length}`);
    }
    return ax;
  });
}

function reducedShape(shape: Shape, attrs: ReduceAttrs, op: string): number[] {
  const axes = new Set(reduceAxes(shape, attrs, op));
  return attrs.keepDims ? shape.map((d, i) => (axes.has(i) ? 1 : d)) : shape.filter((_, i) => !axes.has(i));
}

function reference(
  x: Float32Array,
  shape: Shape,
  attrs: ReduceAttrs,
  init: number,
  f: (acc: number, v: number) => number,
  op: string,
) {
  const keepShape = reducedShape(shape, { ...attrs, keepDims: true }, op);
  const out = new Float32Array(sizeOf(keepShape)).fill(init);
  const outStrides = stridesOf(keepShape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) if (keepShape[d] !== 1) o += idx[d] * outStrides[d];
    out[o] = f(out[o], x[i]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Sum over axes. */
export const sumOp: OpDef<ReduceAttrs> = defineOp<ReduceAttrs>({
  name: "sum",
  inputs: ["x"],
  outputShape: ([s], attrs) => reducedShape(s, attrs, "sum"),
  reference: ([x], [s], attrs) => reference(x, s, attrs, 0, (a, v) => a + v, "sum"),
  grads: [
    ({ dy, inputs: [x], attrs }) =>
      broadcastTo(reshape(dy, reducedShape(x.shape, { ...attrs, keepDims: true }, "sum")), x.shape),
  ],
});

/** Maximum over axes; ties share the gradient. */
export const maxOp: OpDef<ReduceAttrs> = defineOp<ReduceAttrs>({
  name: "max",
  inputs: ["x"],
  outputShape: ([s], attrs) => reducedShape(s, attrs, "max"),
  reference: ([x], [s], attrs) => reference(x, s, attrs, -Infinity, (a, v) => (v > a ? v : a), "max"),
  grads: [({ dy, inputs: [x], output, attrs }) => {
    const keep = reducedShape(x.shape, { ...attrs, keepDims: true }, "max");
    const mask = greaterEqual(x, reshape(output, keep));
    return mul(broadcastTo(reshape(dy, keep), x.shape), mask);
  }],
});

/** Sums over axes. @param x Input. @param attrs Axes and keepDims. @returns The sum. */
export function sum(x: Tensor, attrs: ReduceAttrs = {}): Tensor {
  return runOp(sumOp, [x], attrs);
}
/** Maximum over axes. @param x Input. @param attrs Axes and keepDims. @returns The maximum. */
export function max(x: Tensor, attrs: ReduceAttrs = {}): Tensor {
  return runOp(maxOp, [x], attrs);
}
/** Mean over axes. @param x Input. @param attrs Axes and keepDims. @returns The mean. */
export function mean(x: Tensor, attrs: ReduceAttrs = {}): Tensor {
  const axes = reduceAxes(x.shape, attrs, "mean");
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  return scale(sum(x, attrs), 1 / n);
}

/**
 * Sums `x` down to `shape`, undoing NumPy broadcasting (used for gradients of broadcast ops).
 *
 * @param x Input of a shape that `shape` broadcasts to.
 * @param shape The target shape.
 * @returns A tensor of `shape`.
 */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  const lead = x.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? sum(x, { axes, keepDims: true }) : x;
  return reshape(summed, shape);
}
