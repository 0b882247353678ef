/**
 * The `flatten` layer: `[batch, ...]` → `[batch, prod(rest)]` through the core `reshape` op, in
 * row-major (NCHW) order, so `[n, c, h, w]` becomes features ordered by channel, then row, then column.
 * @module
 */
import { type Layer, ops, type Shape, single, singleShape, type Tensor } from "@cnnlab/core";

/** Options of the `flatten` layer: none. */
export type FlattenOptions = Record<string, never>;

class Flatten implements Layer<FlattenOptions> {
  readonly type = "flatten";
  readonly options: Readonly<FlattenOptions>;

  constructor(options: FlattenOptions) {
    this.options = Object.freeze({ ...options });
  }

  outputShape(input: Shape | readonly Shape[]): Shape {
    const s = singleShape(input, "flatten");
    if (s.length < 1) throw new TypeError(`Cannot apply flatten to input [${s}]: it needs a batch axis`);
    let features = 1;
    for (let d = 1; d < s.length; d++) features *= s[d];
    return [s[0], features];
  }

  forward(input: Tensor | readonly Tensor[]): Tensor {
    const x = single(input, "flatten");
    return ops.reshape(x, this.outputShape(x.shape));
  }

  parameters(): ReadonlyMap<string, Tensor> {
    return new Map();
  }

  /** A reshape does no arithmetic. */
  flops(): number {
    return 0;
  }
}

/**
 * Creates a flatten layer: `[batch, d1, d2, …]` → `[batch, d1·d2·…]` (row-major order kept).
 *
 * @param options None.
 * @returns The layer.
 * @example Feature maps to a vector per example
 * ```ts
 * import { flatten } from "@cnnlab/dense";
 * import assert from "node:assert/strict";
 * assert.deepEqual(flatten().outputShape([8, 16, 5, 5]), [8, 400]);
 * ```
 */
export function flatten(options: FlattenOptions = {}): Layer<FlattenOptions> {
  return new Flatten(options);
}
