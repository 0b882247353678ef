/**
 * ELU (Clevert et al., 2015), `x > 0 ? x : alpha·(eˣ − 1)`, and its gradient op `eluGrad`, each with
 * a naive reference and a one-pass CPU kernel. The gradient is taken from `x` (not from the output),
 * so `eluGrad` needs no saved output; at exactly 0 it is `alpha`.
 * @module
 */
import { defineKernel, defineOp, type Kernel, type OpDef, ops, runOp, type Tensor } from "@cnnlab/core";
import { sameShape } from "./_shape.ts";
import { reluGrad } from "./relu.ts";
import { allocate } from "@cnnlab/backend-cpu/memory";

/** Options of ELU (the layer, the function and the op's attributes). */
export interface EluOptions {
  /** Scale of the negative saturation, `alpha > 0`; default 1. */
  readonly alpha?: number;
}

/** Attributes of the `elu` and `eluGrad` ops: options with their defaults applied. */
export type EluAttrs = Required<EluOptions>;

/**
 * Applies the defaults of ELU and checks the values; `alpha` defaults to 1.
 *
 * @param options User options.
 * @returns The resolved options.
 * @throws {RangeError} If `alpha` is not a finite positive number.
 * @example The default scale
 * ```ts
 * import { resolveEluOptions } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveEluOptions({}), { alpha: 1 });
 * assert.throws(() => resolveEluOptions({ alpha: -1 }), RangeError);
 * ```
 */
export function resolveEluOptions(options: EluOptions): EluAttrs {
  const alpha = options.alpha ?? 1;
  if (typeof alpha !== "number" || !(alpha > 0 && Number.isFinite(alpha))) {
    throw new RangeError(`Cannot create elu with alpha ${alpha}: alpha must be a finite number above 0`);
  }
  return { alpha };
}

/** Op `elu`: `y = x > 0 ? x : alpha·(eˣ − 1)` elementwise; any shape. */
export const eluOp: OpDef<EluAttrs> = defineOp<EluAttrs>({
  name: "elu",
  inputs: ["x"],
  outputShape([s], attrs) {
    resolveEluOptions(attrs);
    return s;
  },
  reference: ([x], _s, { alpha }) => x.map((v) => (v > 0 ? v : alpha * (Math.exp(v) - 1))),
  grads: [({ dy, inputs: [x], attrs }) => eluGrad(dy, x, attrs)],
});

/** Op `eluGrad`: `dx = dy · (x > 0 ? 1 : alpha·eˣ)`; inputs `(dy, x)` of one shape. */
export const eluGradOp: OpDef<EluAttrs> = defineOp<EluAttrs>({
  name: "eluGrad",
  inputs: ["dy", "x"],
  outputShape([dy, x], attrs) {
    resolveEluOptions(attrs);
    return sameShape(dy, x, "eluGrad");
  },
  reference: ([dy, x], _s, { alpha }) => dy.map((g, i) => (x[i] > 0 ? g : g * alpha * Math.exp(x[i]))),
  grads: [
    ({ dy: g, inputs: [, x], attrs }) => eluGrad(g, x, attrs),
    // d/dx of dy·alpha·eˣ (x ≤ 0) is dy·alpha·eˣ, which is eluGrad − reluGrad; for x > 0 both are dy.
    ({ dy: g, inputs: [dy, x], attrs }) => ops.mul(g, ops.sub(eluGrad(dy, x, attrs), reluGrad(dy, x))),
  ],
});

/**
 * Applies ELU.
 *
 * @param x Any tensor.
 * @param options `alpha`, the negative saturation (default 1).
 * @returns `x > 0 ? x : alpha·(eˣ − 1)`, shaped like `x`.
 * @throws {RangeError} If `alpha` is not a finite positive number.
 * @example Saturates at −alpha
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const [low, high] = functional.elu(device.tensor([-50, 2], [2]), { alpha: 0.5 }).dataSync();
 * assert.deepEqual([low, high], [-0.5, 2]);
 * ```
 */
export function elu(x: Tensor, options: EluOptions = {}): Tensor {
  return runOp(eluOp, [x], resolveEluOptions(options));
}

/**
 * Backpropagates through ELU.
 *
 * @param dy Gradient with respect to the output.
 * @param x The forward input, shaped like `dy`.
 * @param options `alpha`, as in the forward pass (default 1).
 * @returns `dy · (x > 0 ? 1 : alpha·eˣ)`.
 * @throws {TypeError} If the shapes differ.
 * @throws {RangeError} If `alpha` is not a finite positive number.
 * @example At x = 0 the slope is alpha
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const dx = functional.eluGrad(device.tensor([2, 2], [2]), device.tensor([0, 1], [2]), { alpha: 0.5 });
 * assert.deepEqual([...dx.dataSync()], [1, 2]);
 * ```
 */
export function eluGrad(dy: Tensor, x: Tensor, options: EluOptions = {}): Tensor {
  return runOp(eluGradOp, [dy, x], resolveEluOptions(options));
}

/** CPU kernel for `elu`: one pass. */
export const eluCpu: Kernel<Float32Array, EluAttrs> = defineKernel<Float32Array, EluAttrs>({
  op: "elu",
  backend: "cpu",
  run([{ storage: x }], { alpha }) {
    const n = x.length, y = allocate(n);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] = v > 0 ? v : alpha * Math.expm1(v);
    }
    return y;
  },
});

/** CPU kernel for `eluGrad`: one pass. */
export const eluGradCpu: Kernel<Float32Array, EluAttrs> = defineKernel<Float32Array, EluAttrs>({
  op: "eluGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x }], { alpha }) {
    const n = x.length, dx = allocate(n);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      dx[i] = v > 0 ? dy[i] : dy[i] * alpha * Math.exp(v);
    }
    return dx;
  },
});
