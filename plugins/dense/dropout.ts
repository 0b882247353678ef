/**
 * The `dropout` layer (inverted dropout, Srivastava et al., 2014): in training each value is kept
 * with probability `1 − rate` and scaled by `1 / (1 − rate)`, or set to 0, so the expected value is
 * unchanged and inference is the identity. The mask is drawn from the forward context's seeded RNG
 * (one draw per element, in row-major order), uploaded as a tensor and applied with the core `mul`
 * op, whose gradient multiplies `dy` by the same mask.
 * @module
 */
import {
  type ForwardContext,
  type Layer,
  ops,
  type Shape,
  single,
  singleShape,
  type Tensor,
} from "@cnnlab/core";

/** Options of the `dropout` layer. */
export interface DropoutOptions {
  /** Probability of dropping each value in training, in [0, 1); default 0.5. */
  readonly rate?: number;
}

/**
 * Applies the defaults of `dropout` and checks the values; `rate` defaults to 0.5.
 *
 * @param options User options.
 * @returns The resolved options.
 * @throws {RangeError} If `rate` is not a number in [0, 1).
 * @example The default rate
 * ```ts
 * import { resolveDropoutOptions } from "@cnnlab/dense";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveDropoutOptions({}), { rate: 0.5 });
 * assert.throws(() => resolveDropoutOptions({ rate: 1 }), RangeError);
 * ```
 */
export function resolveDropoutOptions(options: DropoutOptions): Required<DropoutOptions> {
  const rate = options?.rate ?? 0.5;
  if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) {
    throw new RangeError(`Cannot create dropout with rate ${rate}: rate must be a number in [0, 1)`);
  }
  return { rate };
}

class Dropout implements Layer<DropoutOptions> {
  readonly type = "dropout";
  readonly options: Readonly<DropoutOptions>;
  readonly #rate: number;

  constructor(options: DropoutOptions) {
    this.#rate = resolveDropoutOptions(options).rate;
    this.options = Object.freeze({ ...options });
  }

  outputShape(input: Shape | readonly Shape[]): Shape {
    const s = singleShape(input, "dropout");
    if (s.length < 1) throw new TypeError(`Cannot apply dropout to input [${s}]: it needs a batch axis`);
    return [...s];
  }

  forward(input: Tensor | readonly Tensor[], { training, rng }: ForwardContext): Tensor {
    const x = single(input, "dropout");
    const rate = this.#rate;
    if (!training || rate === 0) return x;
    const kept = 1 / (1 - rate);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < rate ? 0 : kept;
    return ops.mul(x, x.device.tensor(mask, x.shape));
  }

  parameters(): ReadonlyMap<string, Tensor> {
    return new Map();
  }
}

/**
 * Creates an inverted-dropout layer: in training, each value is zeroed with probability `rate`
 * and the rest are scaled by `1 / (1 − rate)`; in inference it returns its input unchanged.
 *
 * @param options `rate` in [0, 1), default 0.5; see {@linkcode resolveDropoutOptions}.
 * @returns The layer.
 * @throws {RangeError} If `rate` is not in [0, 1).
 * @example Identity in inference
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { dropout } from "@cnnlab/dense";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const x = device.tensor([1, 2, 3, 4], [1, 4]);
 * assert.equal(dropout({ rate: 0.5 }).forward(x, { training: false, rng: new Rng(1) }), x);
 * const y = dropout({ rate: 0.5 }).forward(x, { training: true, rng: new Rng(1) }).dataSync();
 * assert.ok(y.every((v, i) => v === 0 || v === 2 * (i + 1)));
 * ```
 */
export function dropout(options: DropoutOptions = {}): Layer<DropoutOptions> {
  return new Dropout(options);
}
