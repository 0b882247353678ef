/**
 * Leaky ReLU, `x > 0 ? x : alpha·x`, and its gradient op `leakyReluGrad`, each with a naive
 * reference and a one-pass CPU kernel. At exactly 0 the gradient is `alpha`.
 * @module
 */
import { defineKernel, defineOp, type Kernel, type OpDef, runOp, type Tensor } from "@cnnlab/core";
import { sameShape } from "./_shape.ts";
import { allocate } from "@cnnlab/backend-cpu/memory";

/** Options of leaky ReLU (the layer, the function and the op's attributes). */
export interface LeakyReluOptions {
  /** Slope for negative inputs, in (0, 1); default 0.01. */
  readonly alpha?: number;
}

/** Attributes of the `leakyRelu` and `leakyReluGrad` ops: options with their defaults applied. */
export type LeakyReluAttrs = Required<LeakyReluOptions>;

/**
 * Applies the defaults of leaky ReLU and checks the values; `alpha` defaults to 0.01.
 *
 * @param options User options.
 * @returns The resolved options.
 * @throws {RangeError} If `alpha` is not a number in (0, 1).
 * @example The default slope
 * ```ts
 * import { resolveLeakyReluOptions } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveLeakyReluOptions({}), { alpha: 0.01 });
 * assert.throws(() => resolveLeakyReluOptions({ alpha: 1 }), RangeError);
 * ```
 */
export function resolveLeakyReluOptions(options: LeakyReluOptions): LeakyReluAttrs {
  const alpha = options.alpha ?? 0.01;
  if (typeof alpha !== "number" || !(alpha > 0 && alpha < 1)) {
    throw new RangeError(`Cannot create leakyRelu with alpha ${alpha}: alpha must be a number in (0, 1)`);
  }
  return { alpha };
}

/** Op `leakyRelu`: `y = x > 0 ? x : alpha·x` elementwise; any shape. */
export const leakyReluOp: OpDef<LeakyReluAttrs> = defineOp<LeakyReluAttrs>({
  name: "leakyRelu",
  inputs: ["x"],
  outputShape([s], attrs) {
    resolveLeakyReluOptions(attrs);
    return s;
  },
  reference: ([x], _s, { alpha }) => x.map((v) => (v > 0 ? v : alpha * v)),
  grads: [({ dy, inputs: [x], attrs }) => leakyReluGrad(dy, x, attrs)],
});

/** Op `leakyReluGrad`: `dx = dy · (x > 0 ? 1 : alpha)`; inputs `(dy, x)` of one shape. */
export const leakyReluGradOp: OpDef<LeakyReluAttrs> = defineOp<LeakyReluAttrs>({
  name: "leakyReluGrad",
  inputs: ["dy", "x"],
  outputShape([dy, x], attrs) {
    resolveLeakyReluOptions(attrs);
    return sameShape(dy, x, "leakyReluGrad");
  },
  reference: ([dy, x], _s, { alpha }) => dy.map((g, i) => (x[i] > 0 ? g : alpha * g)),
  grads: [
    ({ dy: g, inputs: [, x], attrs }) => leakyReluGrad(g, x, attrs),
    // Piecewise constant in x: zero almost everywhere.
    ({ inputs: [, x] }) => x.device.zeros(x.shape),
  ],
});

/**
 * Applies leaky ReLU.
 *
 * @param x Any tensor.
 * @param options `alpha`, the negative slope (default 0.01).
 * @returns `x > 0 ? x : alpha·x`, shaped like `x`.
 * @throws {RangeError} If `alpha` is not in (0, 1).
 * @example A slope of 0.1
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const y = functional.leakyRelu(device.tensor([-2, 3], [2]), { alpha: 0.25 });
 * assert.deepEqual([...y.dataSync()], [-0.5, 3]);
 * ```
 */
export function leakyRelu(x: Tensor, options: LeakyReluOptions = {}): Tensor {
  return runOp(leakyReluOp, [x], resolveLeakyReluOptions(options));
}

/**
 * Backpropagates through leaky ReLU.
 *
 * @param dy Gradient with respect to the output.
 * @param x The forward input, shaped like `dy`.
 * @param options `alpha`, as in the forward pass (default 0.01).
 * @returns `dy · (x > 0 ? 1 : alpha)`.
 * @throws {TypeError} If the shapes differ.
 * @throws {RangeError} If `alpha` is not in (0, 1).
 * @example Negative inputs scale the gradient by alpha
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const dx = functional.leakyReluGrad(device.tensor([4, 4], [2]), device.tensor([-1, 1], [2]), { alpha: 0.25 });
 * assert.deepEqual([...dx.dataSync()], [1, 4]);
 * ```
 */
export function leakyReluGrad(dy: Tensor, x: Tensor, options: LeakyReluOptions = {}): Tensor {
  return runOp(leakyReluGradOp, [dy, x], resolveLeakyReluOptions(options));
}

/** CPU kernel for `leakyRelu`: one pass. */
export const leakyReluCpu: Kernel<Float32Array, LeakyReluAttrs> = defineKernel<Float32Array, LeakyReluAttrs>({
  op: "leakyRelu",
  backend: "cpu",
  run([{ storage: x }], { alpha }) {
    const n = x.length, y = allocate(n);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] = v > 0 ? v : alpha * v;
    }
    return y;
  },
});

/** CPU kernel for `leakyReluGrad`: one pass. */
export const leakyReluGradCpu: Kernel<Float32Array, LeakyReluAttrs> = defineKernel<
  Float32Array,
  LeakyReluAttrs
>({
  op: "leakyReluGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x }], { alpha }) {
    const n = x.length, dx = allocate(n);
    for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : alpha * dy[i];
    return dx;
  },
});
