/**
 * Test fixture: a fixed quadratic in two parameters, `f(W, b) = ½Σ a⊙(W − C)² + ½Σ (b − d)²`,
 * minimised by our optimizers through core autograd and by TensorFlow.js optimizers, and its
 * gradient written out by hand for float64 reference loops.
 * @module
 */
import { type Device, gradients, noGrad, ops, type Optimizer, type Tensor, tidy } from "@cnnlab/core";
import { tf } from "../../../tests/tfjs.ts";

/** Curvatures of W (2×3). */
export const A: readonly number[] = [1, 2, 0.5, 3, 1.5, 0.25];
/** Minimiser of W. */
export const C: readonly number[] = [0.5, -1, 2, 0, 1, -0.5];
/** Minimiser of b (length 3, curvature 1). */
export const D: readonly number[] = [1, -2, 0.25];
/** Starting values. */
export const W0: readonly number[] = [0, 0.5, -1, 1, 2, 0.3];
/** Starting values. */
export const B0: readonly number[] = [-1, 0, 1];

/** The gradient of the quadratic at `w` (length 6) and `b` (length 3), in float64. */
export function quadraticGradient(w: ArrayLike<number>, b: ArrayLike<number>): { w: number[]; b: number[] } {
  return { w: A.map((a, i) => a * (w[i] - C[i])), b: D.map((d, i) => b[i] - d) };
}

/** Fresh parameters `W` [2, 3] and `b` [3] on a device. */
export function makeParams(device: Device): Map<string, Tensor> {
  return new Map([["W", device.tensor(W0, [2, 3])], ["b", device.tensor(B0, [3])]]);
}

/** The quadratic's value as a tensor. */
export function quadratic(params: ReadonlyMap<string, Tensor>): Tensor {
  const w = params.get("W")!, b = params.get("b")!;
  const dw = ops.sub(w, w.device.tensor(C, [2, 3]));
  const db = ops.sub(b, b.device.tensor(D, [3]));
  const total = ops.add(
    ops.sum(ops.mul(w.device.tensor(A, [2, 3]), ops.mul(dw, dw))),
    ops.sum(ops.mul(db, db)),
  );
  return ops.scale(total, 0.5);
}

/** Runs `steps` training steps the way `fit` does (tidy, autograd, noGrad update); returns the loss. */
export function train(opt: Optimizer, params: ReadonlyMap<string, Tensor>, steps: number): number {
  let last = NaN;
  for (let s = 0; s < steps; s++) {
    last = tidy(() => {
      for (const p of params.values()) p.requiresGrad = true;
      const loss = quadratic(params);
      const names = [...params.keys()];
      const grads = gradients(loss, [...params.values()]);
      noGrad(() => opt.step(params, new Map(names.map((n, i) => [n, grads[i]]))));
      return loss.dataSync()[0];
    });
  }
  return last;
}

/** Minimises the same quadratic with a TensorFlow.js optimizer; returns W and b. */
export function trainTf(
  opt: InstanceType<typeof tf.Optimizer>,
  steps: number,
): { w: Float32Array; b: Float32Array } {
  const w = tf.variable(tf.tensor2d(W0 as number[], [2, 3]));
  const b = tf.variable(tf.tensor1d(B0 as number[]));
  const a = tf.tensor2d(A as number[], [2, 3]),
    c = tf.tensor2d(C as number[], [2, 3]),
    d = tf.tensor1d(D as number[]);
  for (let s = 0; s < steps; s++) {
    opt.minimize(
      () =>
        tf.mul(tf.add(tf.sum(tf.mul(a, tf.square(tf.sub(w, c)))), tf.sum(tf.square(tf.sub(b, d)))), 0.5)
          .asScalar(),
      false,
      [w, b],
    );
  }
  const out = { w: w.dataSync() as Float32Array, b: b.dataSync() as Float32Array };
  tf.dispose([w, b, a, c, d]);
  opt.dispose();
  return out;
}
