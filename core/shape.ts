/**
 * Shapes: element counts, equality, broadcasting and pretty printing.
 * @module
 */

/** A tensor shape, outermost dimension first (NCHW for images). */
export type Shape = readonly number[];

/**
 * Counts the elements of a shape.
 *
 * @param shape The shape to count.
 * @returns The product of the dimensions (1 for a scalar).
 * @example Count the elements of a batch of images
 * ```ts
 * import { sizeOf } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * assert.equal(sizeOf([2, 3, 4]), 24);
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Tells whether two shapes are equal.
 *
 * @param a First shape.
 * @param b Second shape.
 * @returns True when both have the same rank and dimensions.
 * @example Compare shapes
 * ```ts
 * import { shapesEqual } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * assert.ok(shapesEqual([1, 2], [1, 2]));
 * ```
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Computes the row-major strides of a shape.
 *
 * @param shape The shape.
 * @returns The stride of each dimension in elements.
 * @example Strides of an NCHW tensor
 * ```ts
 * import { stridesOf } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
 * ```
 */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Computes the NumPy-style broadcast of two shapes.
 *
 * @param a First shape.
 * @param b Second shape.
 * @returns The broadcast shape.
 * @throws {TypeError} If a dimension pair is neither equal nor 1.
 * @example Broadcast a per-channel bias over a batch
 * ```ts
 * import { broadcastShapes } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * assert.deepEqual(broadcastShapes([8, 6, 28, 28], [1, 6, 1, 1]), [8, 6, 28, 28]);
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new TypeError(`Cannot broadcast shapes [${a}] and [${b}]: dimension ${i} is ${da} against ${db}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Checks that a value is a valid shape: an array of non-negative integers.
 *
 * @param shape The candidate shape.
 * @param what What the shape belongs to, for the error message.
 * @throws {TypeError} If a dimension is not a non-negative integer.
 * @example Reject a fractional dimension
 * ```ts
 * import { assertShape } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * assert.throws(() => assertShape([2, 1.5], "input"), TypeError);
 * ```
 */
export function assertShape(shape: Shape, what: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`Cannot use ${what} shape: [${shape}] is not a list of non-negative integers`);
  }
}
