/**
 * The Op contract: typed inputs and attributes, an output shape rule, a reference kernel
 * (the specification and test oracle) and one lazy gradient per input.
 * @module
 */
import type { Shape } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/** What a gradient function receives. */
export interface GradContext<A> {
  /** Gradient of the loss with respect to the op's output. */
  readonly dy: Tensor;
  /** The op's inputs, as recorded on the tape. */
  readonly inputs: readonly Tensor[];
  /** The op's output, as recorded on the tape. */
  readonly output: Tensor;
  /** The op's attributes. */
  readonly attrs: A;
}

/** Computes the gradient for one input, in terms of other ops (so it runs on any backend). */
export type GradFn<A> = (ctx: GradContext<A>) => Tensor;

/**
 * An op contract.
 *
 * @typeParam A Attributes: plain JSON-like values.
 */
export interface OpDef<A = Record<string, never>> {
  /** Unique op name, also the kernel key: `"conv2d"`, `"lpPool2d"`. */
  readonly name: string;
  /** Input names, for messages; their count is the op's arity. */
  readonly inputs: readonly string[];
  /** Output shape from input shapes; throws a `TypeError` or `RangeError` naming the op. */
  outputShape(shapes: readonly Shape[], attrs: A): Shape;
  /** Plain, obviously-correct implementation: the specification that fast kernels are tested against. */
  reference(
    inputs: readonly Float32Array[],
    shapes: readonly Shape[],
    attrs: A,
    outShape: Shape,
  ): Float32Array;
  /** One gradient per input; `undefined` (or a missing entry) marks the op or input non-differentiable. */
  readonly grads?: readonly (GradFn<A> | undefined)[];
}

/**
 * Declares an op with its types checked.
 *
 * @param op The op contract.
 * @returns The same op.
 * @example A doubling op with its gradient
 * ```ts
 * import { defineOp, ops } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const double = defineOp({
 *   name: "double", inputs: ["x"],
 *   outputShape: ([s]) => s,
 *   reference: ([x]) => x.map((v) => 2 * v),
 *   grads: [({ dy }) => ops.scale(dy, 2)],
 * });
 * assert.equal(double.name, "double");
 * ```
 */
export function defineOp<A = Record<string, never>>(op: OpDef<A>): OpDef<A> {
  return op;
}
