/**
 * ReLU, `max(x, 0)`, and its gradient op `reluGrad`, each with a naive reference and a one-pass CPU kernel.
 *
 * The gradient is its own op rather than `dy · greaterEqual(x, 0)` so the CPU backward pass is one
 * loop over the data instead of two, with no intermediate mask tensor. At exactly 0 the gradient is 0.
 * @module
 */
import { defineKernel, defineOp, type Kernel, type OpDef, runOp, type Tensor } from "@cnnlab/core";
import { sameShape } from "./_shape.ts";
import { allocate } from "@cnnlab/backend-cpu/memory";
import { reluGradSimd, reluSimd } from "@cnnlab/backend-cpu/simd";

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

/** The 32-bit pattern of a float32 array, sharing its memory. */
function bitsOf(x: Float32Array): Int32Array {
  return new Int32Array(x.buffer, x.byteOffset, x.length);
}

// Both CPU kernels work on the bit patterns, read as an int32 v: a float32 is positive (and not NaN)
// exactly when 1 ≤ v ≤ 0x7f800000, i.e. (v − 1) as unsigned < 0x7f800000; it is −0, negative or −∞
// (what ReLU zeroes; a NaN of either sign stays) exactly when v − 0x80000000 as unsigned ≤ 0x7f800000.
// Each test becomes an all-ones or all-zero mask, so the loop has no data-dependent branch: a float
// `x > 0 ? x : 0` mispredicts on about half of the (random-signed) activations and runs 3–4× slower.

/**
 * CPU kernel for `relu`: WebAssembly SIMD where the storage lives in the kernels' memory, else one
 * branch-free pass; either way `Math.max(x, 0)` bit for bit (NaN stays NaN, −0 gives +0).
 */
export const reluCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "relu",
  backend: "cpu",
  run([{ storage: x }]) {
    const n = x.length, y = allocate(n);
    if (reluSimd(x, y)) return y;
    const xb = bitsOf(x), yb = bitsOf(y);
    for (let i = 0; i < n; i++) {
      const v = xb[i];
      yb[i] = v & ~-(+((v - 0x80000000) >>> 0 <= 0x7f800000));
    }
    return y;
  },
});

/** CPU kernel for `reluGrad`: `dy` where `x > 0`, else +0 (SIMD, or one branch-free pass). */
export const reluGradCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "reluGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x }]) {
    const n = x.length, dx = allocate(n);
    if (reluGradSimd(dy, x, dx)) return dx;
    const xb = bitsOf(x), gb = bitsOf(dy), db = bitsOf(dx);
    for (let i = 0; i < n; i++) db[i] = gb[i] & -(+((xb[i] - 1) >>> 0 < 0x7f800000));
    return dx;
  },
});
