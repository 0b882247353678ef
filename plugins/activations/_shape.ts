/**
 * Shape checks shared by the activation ops (private to this package).
 * @module
 */
import { type Shape, shapesEqual } from "@cnnlab/core";

/** Counts of a `[batch, channels, ...spatial]` shape: `outer` batches, `channels`, `inner` positions per channel. */
export interface ChannelSplit {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
}

/**
 * Splits `[n, c, ...rest]` into `n`, `c` and `prod(rest)` (1 for `[n, features]`).
 *
 * @param shape The input shape.
 * @param op The op or layer name, for the message.
 * @returns The three counts.
 * @throws {TypeError} If the shape has no channel axis (rank below 2).
 */
export function channelSplit(shape: Shape, op: string): ChannelSplit {
  if (shape.length < 2) {
    throw new TypeError(
      `Cannot apply ${op} to input [${shape}]: it needs a channel axis, [batch, channels, ...] (rank 2 or more)`,
    );
  }
  let inner = 1;
  for (let d = 2; d < shape.length; d++) inner *= shape[d];
  return { outer: shape[0], channels: shape[1], inner };
}

/**
 * Checks that a gradient op's `dy` and `x` have one shape.
 *
 * @param dy Shape of the incoming gradient.
 * @param x Shape of the forward input.
 * @param op The op name, for the message.
 * @returns The shared shape.
 * @throws {TypeError} If they differ.
 */
export function sameShape(dy: Shape, x: Shape, op: string): Shape {
  if (!shapesEqual(dy, x)) {
    throw new TypeError(`Cannot apply ${op}: dy has shape [${dy}] but x has shape [${x}]; they must match`);
  }
  return x;
}
