/**
 * The fully connected layer `dense`: `y = x·W + b`, built from the core primitives `matmul` and `add`
 * (their gradients give the backward pass; no op of its own is needed).
 * @module
 */
import {
  type BuildContext,
  keep,
  type Layer,
  ops,
  type Shape,
  single,
  singleShape,
  type Tensor,
} from "@cnnlab/core";

/** Options of the `dense` layer. */
export interface DenseOptions {
  /** Number of output features; a positive integer, required. */
  readonly units: number;
  /** Whether to add a learned bias; default true. */
  readonly bias?: boolean;
}

/**
 * Applies the defaults of `dense` and checks the values: `bias` defaults to true; `units` has no default.
 *
 * @param options User options.
 * @returns The resolved options.
 * @throws {RangeError} If `units` is not a positive integer.
 * @throws {TypeError} If `bias` is given and is not a boolean.
 * @example Bias is on by default
 * ```ts
 * import { resolveDenseOptions } from "@cnnlab/dense";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveDenseOptions({ units: 10 }), { units: 10, bias: true });
 * assert.throws(() => resolveDenseOptions({ units: 0 }), RangeError);
 * ```
 */
export function resolveDenseOptions(options: DenseOptions): Required<DenseOptions> {
  const units = options?.units;
  if (!Number.isInteger(units) || units < 1) {
    throw new RangeError(
      `Cannot create dense with units ${units}: units must be a positive integer, e.g. { units: 10 }`,
    );
  }
  const bias = options.bias ?? true;
  if (typeof bias !== "boolean") {
    throw new TypeError(`Cannot create dense with bias ${JSON.stringify(bias)}: bias must be true or false`);
  }
  return { units, bias };
}

class Dense implements Layer<DenseOptions> {
  readonly type = "dense";
  readonly options: Readonly<DenseOptions>;
  readonly #units: number;
  readonly #useBias: boolean;
  #weight: Tensor | undefined;
  #bias: Tensor | undefined;

  constructor(options: DenseOptions) {
    const { units, bias } = resolveDenseOptions(options);
    this.options = Object.freeze({ ...options });
    this.#units = units;
    this.#useBias = bias;
  }

  outputShape(input: Shape | readonly Shape[]): Shape {
    const s = singleShape(input, "dense");
    if (s.length !== 2 || s[1] < 1) {
      throw new TypeError(
        `Cannot apply dense to input [${s}]: it must be [batch, features] with features ≥ 1; add a flatten layer before it`,
      );
    }
    return [s[0], this.#units];
  }

  /** Creates `weight` `[in, units]` (He-normal, std √(2/in), from `ctx.rng`) and `bias` `[units]` (zeros). */
  build(input: Shape | readonly Shape[], { device, rng }: BuildContext): void {
    this.outputShape(input);
    const features = (input as Shape)[1];
    const std = Math.sqrt(2 / features);
    const w = new Float32Array(features * this.#units);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    this.#weight?.dispose();
    this.#bias?.dispose();
    this.#weight = keep(device.tensor(w, [features, this.#units]));
    this.#bias = this.#useBias ? keep(device.zeros([this.#units])) : undefined;
  }

  forward(input: Tensor | readonly Tensor[]): Tensor {
    const x = single(input, "dense");
    const w = this.#weight;
    if (!w) {
      throw new Error(
        "Cannot run dense: its weights are not built yet; call build(inputShape, ctx) first (a Model does)",
      );
    }
    this.outputShape(x.shape);
    if (x.shape[1] !== w.shape[0]) {
      throw new TypeError(`Cannot apply dense built for ${w.shape[0]} features to input [${x.shape}]`);
    }
    const y = ops.matmul(x, w);
    return this.#bias ? ops.add(y, this.#bias) : y;
  }

  parameters(): ReadonlyMap<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (this.#weight) out.set("weight", this.#weight);
    if (this.#bias) out.set("bias", this.#bias);
    return out;
  }

  flops(input: Shape | readonly Shape[]): number {
    const [n, features] = singleShape(input, "dense");
    return 2 * n * features * this.#units;
  }
}

/**
 * Creates a fully connected layer: `[batch, in]` → `[batch, units]`, `y = x·W + b`.
 * Parameters: `weight` `[in, units]` (row-major, He-normal with std √(2/in) from the build RNG) and
 * `bias` `[units]` (zeros; absent with `bias: false`). FLOPs: `2·batch·in·units`.
 *
 * @param options `units` (required) and `bias` (default true); see {@linkcode resolveDenseOptions}.
 * @returns The layer; `build` creates its parameters.
 * @throws {RangeError} If `units` is not a positive integer.
 * @throws {TypeError} If `bias` is not a boolean.
 * @example Output shape and FLOPs
 * ```ts
 * import { dense } from "@cnnlab/dense";
 * import assert from "node:assert/strict";
 * const layer = dense({ units: 10 });
 * assert.deepEqual(layer.outputShape([32, 84]), [32, 10]);
 * assert.equal(layer.flops!([32, 84]), 2 * 32 * 84 * 10);
 * assert.throws(() => layer.outputShape([32, 16, 5, 5]), /add a flatten layer/);
 * ```
 */
export function dense(options: DenseOptions): Layer<DenseOptions> {
  return new Dense(options);
}
