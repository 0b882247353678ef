/**
 * The activation layers, registered under the names of their ops: `relu`, `leakyRelu`, `elu`,
 * `prelu` (with learned per-channel slopes) and `maxout`. Each validates its options when created
 * (through the `resolve…Options` function that holds the defaults) and keeps the user's options as given.
 * @module
 */
import {
  type BuildContext,
  keep,
  type Layer,
  type Shape,
  single,
  singleShape,
  type Tensor,
} from "@cnnlab/core";
import { channelSplit } from "./_shape.ts";
import { elu as eluFn, type EluOptions, resolveEluOptions } from "./elu.ts";
import { leakyRelu as leakyReluFn, type LeakyReluOptions, resolveLeakyReluOptions } from "./leaky_relu.ts";
import { maxout as maxoutFn, maxoutOp, type MaxoutOptions, resolveMaxoutOptions } from "./maxout.ts";
import { prelu as preluFn } from "./prelu.ts";
import { relu as reluFn } from "./relu.ts";

/** Options of the `relu` layer: none. */
export type ReluOptions = Record<string, never>;

/** Options of the `prelu` layer: none (each slope starts at {@linkcode PRELU_INITIAL_SLOPE}). */
export type PreluOptions = Record<string, never>;

/** Initial value of every PReLU slope, 0.25 as in He et al. (2015). */
export const PRELU_INITIAL_SLOPE = 0.25;

/** Output shape of an elementwise layer: the input's, which needs at least a batch axis. */
function sameAsInput(s: Shape, type: string): Shape {
  if (s.length < 1) throw new TypeError(`Cannot apply ${type} to input [${s}]: it needs a batch axis`);
  return [...s];
}

/** A parameter-free activation layer: one function of the input, and its shape rule. */
class ActivationLayer<O extends object> implements Layer<O> {
  readonly type: string;
  readonly options: Readonly<O>;
  readonly #apply: (x: Tensor) => Tensor;
  readonly #shape: (s: Shape, type: string) => Shape;

  constructor(type: string, options: O, apply: (x: Tensor) => Tensor, shape = sameAsInput) {
    this.type = type;
    this.options = Object.freeze({ ...options });
    this.#apply = apply;
    this.#shape = shape;
  }

  outputShape(input: Shape | readonly Shape[]): Shape {
    return this.#shape(singleShape(input, this.type), this.type);
  }

  forward(x: Tensor | readonly Tensor[]): Tensor {
    return this.#apply(single(x, this.type));
  }

  parameters(): ReadonlyMap<string, Tensor> {
    return new Map();
  }
}

class PreluLayer implements Layer<PreluOptions> {
  readonly type = "prelu";
  readonly options: Readonly<PreluOptions>;
  #alpha: Tensor | undefined;

  constructor(options: PreluOptions) {
    this.options = Object.freeze({ ...options });
  }

  outputShape(input: Shape | readonly Shape[]): Shape {
    const s = singleShape(input, "prelu");
    channelSplit(s, "prelu");
    return [...s];
  }

  build(input: Shape | readonly Shape[], { device }: BuildContext): void {
    const channels = this.outputShape(input)[1];
    this.#alpha?.dispose();
    this.#alpha = keep(device.fill([channels], PRELU_INITIAL_SLOPE));
  }

  forward(x: Tensor | readonly Tensor[]): Tensor {
    if (!this.#alpha) {
      throw new Error(
        "Cannot run prelu: its slopes are not built yet; call build(inputShape, ctx) first (a Model does)",
      );
    }
    return preluFn(single(x, "prelu"), this.#alpha);
  }

  parameters(): ReadonlyMap<string, Tensor> {
    return this.#alpha ? new Map([["alpha", this.#alpha]]) : new Map();
  }
}

/**
 * Creates a ReLU layer: `max(x, 0)`, any shape.
 *
 * @param options None.
 * @returns The layer.
 * @example Keeps the shape
 * ```ts
 * import { relu } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(relu().outputShape([8, 6, 28, 28]), [8, 6, 28, 28]);
 * ```
 */
export function relu(options: ReluOptions = {}): Layer<ReluOptions> {
  return new ActivationLayer("relu", options, reluFn);
}

/**
 * Creates a leaky ReLU layer: `x > 0 ? x : alpha·x`, any shape.
 *
 * @param options `alpha` in (0, 1), default 0.01 (see {@linkcode resolveLeakyReluOptions}).
 * @returns The layer.
 * @throws {RangeError} If `alpha` is not in (0, 1).
 * @example A steeper negative slope
 * ```ts
 * import { leakyRelu } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(leakyRelu({ alpha: 0.2 }).options, { alpha: 0.2 });
 * assert.throws(() => leakyRelu({ alpha: 2 }), RangeError);
 * ```
 */
export function leakyRelu(options: LeakyReluOptions = {}): Layer<LeakyReluOptions> {
  const attrs = resolveLeakyReluOptions(options);
  return new ActivationLayer("leakyRelu", options, (x) => leakyReluFn(x, attrs));
}

/**
 * Creates an ELU layer: `x > 0 ? x : alpha·(eˣ − 1)`, any shape.
 *
 * @param options `alpha > 0`, default 1 (see {@linkcode resolveEluOptions}).
 * @returns The layer.
 * @throws {RangeError} If `alpha` is not a finite positive number.
 * @example Default options
 * ```ts
 * import { elu } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.equal(elu().type, "elu");
 * assert.throws(() => elu({ alpha: 0 }), RangeError);
 * ```
 */
export function elu(options: EluOptions = {}): Layer<EluOptions> {
  const attrs = resolveEluOptions(options);
  return new ActivationLayer("elu", options, (x) => eluFn(x, attrs));
}

/**
 * Creates a PReLU layer: `x > 0 ? x : alpha[c]·x` with one learned slope per channel (axis 1 of
 * `[batch, channels, ...]` or of `[batch, features]`). Its parameter `alpha` has shape `[channels]`
 * and starts at 0.25 everywhere.
 *
 * @param options None.
 * @returns The layer; `build` creates `alpha`.
 * @example The slopes after building
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { prelu } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const layer = prelu();
 * layer.build!([1, 3, 4, 4], { device, rng: new Rng(1) });
 * assert.deepEqual([...layer.parameters().get("alpha")!.dataSync()], [0.25, 0.25, 0.25]);
 * ```
 */
export function prelu(options: PreluOptions = {}): Layer<PreluOptions> {
  return new PreluLayer(options);
}

/**
 * Creates a maxout layer: `[batch, c, ...]` → `[batch, c / pieces, ...]`; output channel j is the
 * maximum of the consecutive input channels `j·pieces … j·pieces + pieces − 1`.
 *
 * @param options `pieces`, the number of channels per group (required).
 * @returns The layer.
 * @throws {RangeError} If `pieces` is not a positive integer.
 * @example Halve the channels
 * ```ts
 * import { maxout } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(maxout({ pieces: 2 }).outputShape([8, 12, 5, 5]), [8, 6, 5, 5]);
 * assert.throws(() => maxout({ pieces: 5 }).outputShape([8, 12, 5, 5]), TypeError);
 * ```
 */
export function maxout(options: MaxoutOptions): Layer<MaxoutOptions> {
  const attrs = resolveMaxoutOptions(options);
  return new ActivationLayer(
    "maxout",
    options,
    (x) => maxoutFn(x, attrs),
    (s) => maxoutOp.outputShape([s], attrs),
  );
}
