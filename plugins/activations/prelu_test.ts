import { gradients, ops, Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { nchwToNhwc, nhwcToNchw, tf } from "../../tests/tfjs.ts";
import activations from "./mod.ts";
import { prelu, preluAlphaGrad, preluAlphaGradOp, preluGrad, preluGradOp, preluOp } from "./prelu.ts";

const device = await new Registry().use(cpu).use(activations).device("cpu");
const rng = new Rng(14);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape, lo = -2, hi = 2) => ({ values: uniform(rng, size(shape), lo, hi), shape });
/** Values in ±[0.2, 1]: no kink within a finite-difference step. */
const awayFromZero = (shape: Shape) => ({
  values: uniform(rng, size(shape), 0.2, 1).map((v) => (rng.next() < 0.5 ? -v : v)),
  shape,
});

Deno.test("prelu() on NCHW matches tf.prelu on the NHWC layout", () => {
  const [n, c, h, w] = [2, 3, 4, 5];
  const x = arg([n, c, h, w]), alpha = arg([c], 0, 1);
  const got = tidy(() =>
    prelu(device.tensor(x.values, x.shape), device.tensor(alpha.values, [c])).dataSync()
  );
  const nhwc = tf.tidy(() =>
    tf.prelu(tf.tensor(nchwToNhwc(x.values, x.shape), [n, h, w, c]), tf.tensor(alpha.values, [c])).dataSync()
  );
  assertClose(got, nhwcToNchw(nhwc as Float32Array, [n, h, w, c]), { atol: 1e-7 });
});

Deno.test("prelu() on [batch, features] matches tf.prelu", () => {
  const x = arg([4, 6]), alpha = arg([6], 0, 1);
  const got = tidy(() =>
    prelu(device.tensor(x.values, x.shape), device.tensor(alpha.values, [6])).dataSync()
  );
  const want = tf.tidy(() => tf.prelu(tf.tensor(x.values, [4, 6]), tf.tensor(alpha.values, [6])).dataSync());
  assertClose(got, want, { atol: 1e-7 });
});

Deno.test("preluAlphaGrad() sums dy·x over batch and positions where x ≤ 0, per channel", () => {
  // x [2, 2, 2]: channel 0 holds -1, 2 | -3, 4; channel 1 holds -5, -6 | 7, 0.
  const x = device.tensor([-1, 2, -5, -6, -3, 4, 7, 0], [2, 2, 2]);
  const dy = device.tensor([1, 1, 1, 2, 3, 1, 1, 9], [2, 2, 2]);
  assert.deepEqual([...preluAlphaGrad(dy, x).dataSync()], [-1 - 9, -5 - 12 + 0]);
});

Deno.test("prelu, preluGrad and preluAlphaGrad CPU kernels agree with their references", () => {
  for (const shape of [[2, 3, 4, 5], [5, 7], [2, 4, 9]]) {
    const c = shape[1];
    const x = arg(shape), dy = arg(shape), alpha = arg([c], 0, 1);
    checkAgainstReference(device, preluOp, [x, alpha], {});
    checkAgainstReference(device, preluGradOp, [dy, x, alpha], {});
    checkAgainstReference(device, preluAlphaGradOp, [dy, x], {}, { atol: 1e-4 });
  }
});

Deno.test("prelu() gradients with respect to x and to the slopes match central differences", () => {
  for (const shape of [[2, 3, 2, 2], [4, 5]]) {
    checkGradients(device, (x, alpha) => prelu(x, alpha), [awayFromZero(shape), arg([shape[1]], 0.1, 0.5)], {
      rng,
      label: `prelu ${shape}`,
    });
  }
});

Deno.test("prelu() slope gradient through autograd equals a naive sum written here", () => {
  const x = arg([2, 3, 5]), r = arg([2, 3, 5]);
  const got = tidy(() => {
    const alpha = device.tensor([0.1, 0.2, 0.3], [3]);
    alpha.requiresGrad = true;
    const loss = ops.sum(
      ops.mul(prelu(device.tensor(x.values, x.shape), alpha), device.tensor(r.values, r.shape)),
    );
    return gradients(loss, [alpha])[0].dataSync();
  });
  const want = [0, 0, 0];
  for (let i = 0; i < 30; i++) if (x.values[i] <= 0) want[Math.floor(i / 5) % 3] += r.values[i] * x.values[i];
  assertClose(got, want, { atol: 1e-5 });
});

Deno.test("preluGrad() and preluAlphaGrad() gradients match central differences", () => {
  const shape = [2, 3, 2, 2];
  checkGradients(device, (dy, x, alpha) => preluGrad(dy, x, alpha), [
    arg(shape),
    awayFromZero(shape),
    arg([3], 0.1, 0.5),
  ], { rng, label: "preluGrad" });
  checkGradients(device, (dy, x) => preluAlphaGrad(dy, x), [arg(shape), awayFromZero(shape)], {
    rng,
    label: "preluAlphaGrad",
  });
});

Deno.test("prelu() rejects slopes of the wrong shape and inputs without a channel axis", () => {
  assert.throws(
    () => prelu(device.zeros([2, 3, 4]), device.zeros([4])),
    /alpha must be \[3\], one slope per channel/,
  );
  assert.throws(() => prelu(device.zeros([2, 3]), device.zeros([1, 3])), TypeError);
  assert.throws(() => prelu(device.zeros([3]), device.zeros([3])), /needs a channel axis/);
});
