/**
 * What every pooling layer shares: option-key checking, the shape rule, flops and the empty
 * parameter map. Each layer file supplies its resolved attributes and how to apply them.
 * @module
 */
import {
  type ForwardContext,
  type Layer,
  type Shape,
  single,
  singleShape,
  sizeOf,
  type Tensor,
} from "@cnnlab/core";
import { type Pool2dAttrs, pool2dOutputShape } from "./pool_options.ts";

/**
 * Rejects option keys a layer does not know, so a typo (`pool_size`) is an error rather than a default.
 *
 * @throws {RangeError} Naming the layer, the unknown key and the known ones.
 */
export function checkKeys(options: object, known: readonly string[], type: string): void {
  for (const key of Object.keys(options ?? {})) {
    if (!known.includes(key)) {
      throw new RangeError(
        `Cannot create ${type}: unknown option "${key}"; known options are ${known.join(", ")}`,
      );
    }
  }
}

/**
 * Builds a parameter-free pooling layer.
 *
 * @returns The layer: output shape checked by `pool2dOutputShape`, flops = output elements × window size.
 */
export function poolLayer<O extends object>(
  type: string,
  options: O,
  attrs: Pool2dAttrs,
  apply: (x: Tensor, ctx: ForwardContext) => Tensor,
): Layer<O> {
  const frozen = Object.freeze(structuredClone(options));
  const outputShape = (input: Shape | readonly Shape[]): Shape =>
    pool2dOutputShape(singleShape(input, type), attrs, type);
  return {
    type,
    options: frozen,
    outputShape,
    forward: (x, ctx) => apply(single(x, type), ctx),
    parameters: () => new Map(),
    flops: (input) => sizeOf(outputShape(input)) * attrs.poolSize[0] * attrs.poolSize[1],
  };
}
