/**
 * Test-only helpers shared by this package's tests (named `*_test.ts` so it is test code, may import
 * TensorFlow.js and is not published; it holds no tests): a CPU device with the plugin,
 * seeded inputs and a small TensorFlow.js bridge. No pooling logic lives here.
 * @module
 */
import { type Device, gradients, ops, Registry, Rng, type Shape, type Tensor, tidy } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import pooling from "./mod.ts";
import { nchwToNhwc, nhwcToNchw, tf } from "../../tests/tfjs.ts";
/** TensorFlow.js's 4-D tensor type. */
type T4 = ReturnType<typeof tf.tensor4d>;

/** A CPU device with this plugin registered. */
export const device: Device = await new Registry().use(cpu).use(pooling).device("cpu");

/** Element count. */
export const size = (shape: Shape): number => shape.reduce((p, d) => p * d, 1);

/**
 * Distinct values (a shuffled evenly spaced grid over [lo, hi]), so no window has ties or
 * near-ties: neighbours differ by (hi − lo)/(n − 1).
 */
export function distinct(rng: Rng, shape: Shape, lo = -2, hi = 2): { values: Float32Array; shape: Shape } {
  const n = size(shape);
  const grid = Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / Math.max(n - 1, 1));
  return { values: Float32Array.from(rng.shuffle(grid)), shape };
}

/** Uniform values in [lo, hi). */
export function uniformArg(rng: Rng, shape: Shape, lo = -1, hi = 1): { values: Float32Array; shape: Shape } {
  return { values: Float32Array.from({ length: size(shape) }, () => lo + (hi - lo) * rng.next()), shape };
}

/** Values of a tensor-valued function of one NCHW input, computed here. */
export function run(f: (x: Tensor) => Tensor, x: Float32Array, shape: Shape): Float32Array {
  return tidy(() => f(device.tensor(x, shape)).dataSync().slice());
}

/** d Σ(f(x)·r)/dx computed by this package's gradients, for a fixed projection `r`. */
export function grad(f: (x: Tensor) => Tensor, x: Float32Array, shape: Shape, r: Float32Array): Float32Array {
  return tidy(() => {
    const t = device.tensor(x, shape);
    t.requiresGrad = true;
    const y = f(t);
    const [dx] = gradients(ops.sum(ops.mul(y, device.tensor(r, y.shape))), [t]);
    return dx.dataSync().slice();
  });
}

/** A TensorFlow.js NHWC function applied to NCHW values; returns NCHW values and shape. */
export function tfRun(
  f: (x: T4) => T4,
  x: Float32Array,
  [n, c, h, w]: Shape,
): { values: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const y = f(tf.tensor4d(nchwToNhwc(x, [n, c, h, w]), [n, h, w, c]));
    const [yn, yh, yw, yc] = y.shape;
    return { values: nhwcToNchw(y.dataSync() as Float32Array, y.shape), shape: [yn, yc, yh, yw] };
  });
}

/** TensorFlow.js's d Σ(f(x)·r)/dx for NCHW values `x` and an NCHW projection `r` of the output. */
export function tfGrad(
  f: (x: T4) => T4,
  x: Float32Array,
  [n, c, h, w]: Shape,
  r: Float32Array,
  outShape: Shape,
): Float32Array {
  return tf.tidy(() => {
    const [, oc, oh, ow] = outShape;
    const rt = tf.tensor4d(nchwToNhwc(r, outShape), [n, oh, ow, oc]);
    const g = tf.grad((t) => tf.sum(tf.mul(f(t as T4), rt)));
    const dx = g(tf.tensor4d(nchwToNhwc(x, [n, c, h, w]), [n, h, w, c]));
    return nhwcToNchw(dx.dataSync() as Float32Array, [n, h, w, c]);
  });
}

export { Rng, tf };
