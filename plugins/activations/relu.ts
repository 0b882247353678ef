/**
 * ReLU, `max(x, 0)`, and its gradient op `reluGrad`, each with a naive reference and a one-pass CPU kernel.
 *
 * The gradient is its own op rather than `dy · greaterEqual(x, 0)` so the CPU backward pass is one
 * loop over the data instead of two, with no intermediate mask tensor. At exactly 0 the gradient is 0.
 * @module
 */
import { defineKernel, defineOp, type Kernel, type OpDef, runOp, type Tensor } from "@cnnlab/core";
import { sameShape } from "./_shape.ts";

type NoAttrs = Record<string, never>;
const none = {} as NoAttrs;

/** Op `relu`: `y = max(x, 0)` elementwise; any shape. */
export const reluOp: OpDef<Record<string, never>> = defineOp<NoAttrs>({
  name: "relu",
  inputs: ["x"],
  outputShape: ([s]) => s,
  reference: ([x]) => x.map((v) => Math.max(v, 0)),
  grads: [({ dy, inputs: [x] }) => reluGrad(dy, x)],
});

/** Op `reluGrad`: `dx = dy` where `x > 0`, else 0; inputs `(dy, x)` of one shape. */
export const reluGradOp: OpDef<Record<string, never>> = defineOp<NoAttrs>({
  name: "reluGrad",
  inputs: ["dy", "x"],
  outputShape: ([dy, x]) => sameShape(dy, x, "reluGrad"),
  reference: ([dy, x]) => dy.map((g, i) => (x[i] > 0 ? g : 0)),
  grads: [
    ({ dy: g, inputs: [, x] }) => reluGrad(g, x),
    // Piecewise constant in x: zero almost everywhere.
    ({ inputs: [, x] }) => x.device.zeros(x.shape),
  ],
});

/**
 * Applies ReLU.
 *
 * @param x Any tensor.
 * @returns `max(x, 0)`, shaped like `x`.
 * @example Negative values become zero
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const y = functional.relu(device.tensor([-2, 0, 3], [3]));
 * assert.deepEqual([...y.dataSync()], [0, 0, 3]);
 * ```
 */
export function relu(x: Tensor): Tensor {
  return runOp(reluOp, [x], none);
}

/**
 * Backpropagates through ReLU: passes `dy` where `x > 0`.
 *
 * @param dy Gradient with respect to ReLU's output.
 * @param x ReLU's input, shaped like `dy`.
 * @returns Gradient with respect to `x`.
 * @throws {TypeError} If the shapes differ.
 * @example The gradient is blocked where x ≤ 0
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const dx = functional.reluGrad(device.tensor([5, 5, 5], [3]), device.tensor([-1, 0, 2], [3]));
 * assert.deepEqual([...dx.dataSync()], [0, 0, 5]);
 * ```
 */
export function reluGrad(dy: Tensor, x: Tensor): Tensor {
  return runOp(reluGradOp, [dy, x], none);
}

/** CPU kernel for `relu`: one pass. */
export const reluCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "relu",
  backend: "cpu",
  run([{ storage: x }]) {
    const n = x.length, y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] = v > 0 ? v : 0;
    }
    return y;
  },
});

/** CPU kernel for `reluGrad`: one pass. */
export const reluGradCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "reluGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x }]) {
    const n = x.length, dx = new Float32Array(n);
    for (let i = 0; i < n; i++) if (x[i] > 0) dx[i] = dy[i];
    return dx;
  },
});
