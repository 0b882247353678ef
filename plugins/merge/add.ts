/**
 * The `add` merge layer: the elementwise sum of its inputs (skip connections, siamese heads).
 * @module
 */
import { type Layer, ops, type Shape, shapesEqual, type Tensor } from "@cnnlab/core";

/** Options of `add` (none). */
export type AddOptions = Record<string, never>;

/**
 * Creates a layer that sums two or more inputs of one shape.
 *
 * @param options None.
 * @returns The layer.
 * @throws {TypeError} From `outputShape` if it gets fewer than two inputs or shapes differ.
 * @example Two inputs of one shape
 * ```ts
 * import { add } from "@cnnlab/merge";
 * import assert from "node:assert/strict";
 * assert.deepEqual(add({}).outputShape([[1, 3], [1, 3]]), [1, 3]);
 * ```
 */
export function add(options: AddOptions = {}): Layer<AddOptions> {
  const check = (input: Shape | readonly Shape[]): readonly Shape[] => {
    if (!Array.isArray(input[0]) || input.length < 2) {
      throw new TypeError(
        `Cannot apply add to one input: it merges two or more (give the node "inputs": [a, b])`,
      );
    }
    const shapes = input as readonly Shape[];
    if (!shapes.every((s) => shapesEqual(s, shapes[0]))) {
      throw new TypeError(
        `Cannot apply add to inputs of shapes ${shapes.map((s) => `[${s}]`).join(", ")}: they must be equal`,
      );
    }
    return shapes;
  };
  return {
    type: "add",
    options,
    outputShape: (input) => check(input)[0],
    forward(x) {
      const xs = x as readonly Tensor[];
      check(xs.map((t) => t.shape));
      return xs.slice(1).reduce((acc, t) => ops.add(acc, t), xs[0]);
    },
    parameters: () => new Map(),
    flops: (input) => (check(input).length - 1) * check(input)[0].reduce((p, d) => p * d, 1),
  };
}
