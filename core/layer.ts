/**
 * The Layer contract: built from a JSON config, shape-checked before compute.
 * @module
 */
import type { Rng } from "./rng.ts";
import type { Shape } from "./shape.ts";
import type { Device, Tensor } from "./tensor.ts";

/** What `forward` receives besides its input. */
export interface ForwardContext {
  /** Training (dropout active, λ drawn) or inference. */
  readonly training: boolean;
  /** The seeded RNG for this pass. */
  readonly rng: Rng;
}

/** What `build` receives: where to put parameters and how to draw their initial values. */
export interface BuildContext {
  /** The device that will hold the parameters. */
  readonly device: Device;
  /** The seeded RNG for initialisation. */
  readonly rng: Rng;
}

/** A network layer. Shapes include the batch dimension (NCHW for images). */
export interface Layer<O extends object = object> {
  /** Registry key; also written into saved models. */
  readonly type: string;
  /** JSON-serialisable options: rebuild the layer alone. */
  readonly options: Readonly<O>;
  /** Output shape from input shape(s); pure, throws naming the layer when the input does not fit. */
  outputShape(input: Shape | readonly Shape[]): Shape;
  /** Creates parameters for the given input shape; layers without parameters omit it. */
  build?(input: Shape | readonly Shape[], ctx: BuildContext): void;
  /** Computes the output; a list only for merging layers. */
  forward(x: Tensor | readonly Tensor[], ctx: ForwardContext): Tensor;
  /** Named parameters (empty for parameter-free layers). */
  parameters(): ReadonlyMap<string, Tensor>;
  /** Multiply–adds times two for one forward pass of `input`, for model summaries. */
  flops?(input: Shape | readonly Shape[]): number;
  /**
   * This layer followed by `next` as one forward pass, where the two fuse (a convolution and a
   * ReLU: one op that clamps its outputs before storing them), or `undefined`. The fused pass must
   * give the values of `next.forward(this.forward(x))`. `Model` asks once per pair of consecutive
   * nodes where `next` alone reads this layer's output, and uses the answer only for inference
   * (ops not recorded, see `noGrad`) when that output is not captured.
   */
  fuseWith?(next: Layer): FusedForward | undefined;
}

/** A forward pass of two fused layers: the second layer's output from the first layer's input. */
export type FusedForward = (x: Tensor | readonly Tensor[], ctx: ForwardContext) => Tensor;

/** Builds a layer from its options. */
export type LayerFactory<O extends object = object> = (options: O) => Layer<O>;

/**
 * Checks that a layer received one tensor, not a list.
 *
 * @param x What `forward` received.
 * @param type The layer type, for the message.
 * @returns The tensor.
 * @throws {TypeError} If `x` is a list.
 */
export function single(x: Tensor | readonly Tensor[], type: string): Tensor {
  if (Array.isArray(x)) {
    throw new TypeError(`Cannot apply ${type} to ${x.length} inputs: it takes one tensor`);
  }
  return x as Tensor;
}

/**
 * Checks that a layer received one shape, not a list.
 *
 * @param s What `outputShape` received.
 * @param type The layer type, for the message.
 * @returns The shape.
 * @throws {TypeError} If `s` is a list of shapes.
 */
export function singleShape(s: Shape | readonly Shape[], type: string): Shape {
  if (s.length && Array.isArray(s[0])) {
    throw new TypeError(`Cannot apply ${type} to ${s.length} inputs: it takes one tensor`);
  }
  return s as Shape;
}
