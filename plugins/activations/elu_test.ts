import { Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import activations from "./mod.ts";
import { elu, eluGrad, eluGradOp, eluOp, resolveEluOptions } from "./elu.ts";

const device = await new Registry().use(cpu).use(activations).device("cpu");
const rng = new Rng(13);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape) => ({ values: uniform(rng, size(shape), -3, 2), shape });
/** Values in ±[0.2, 1]: no kink within a finite-difference step. */
const awayFromZero = (shape: Shape) => ({
  values: uniform(rng, size(shape), 0.2, 1).map((v) => (rng.next() < 0.5 ? -v : v)),
  shape,
});

Deno.test("elu() with the default alpha matches tf.elu", () => {
  const x = arg([2, 3, 4, 5]);
  const got = tidy(() => elu(device.tensor(x.values, x.shape)).dataSync());
  assertClose(got, tf.tidy(() => tf.elu(tf.tensor(x.values, [...x.shape])).dataSync()), { atol: 1e-6 });
});

Deno.test("elu() with alpha 0.5 matches a naive loop", () => {
  const x = arg([4, 25]);
  const want = new Float32Array(x.values.length);
  for (let i = 0; i < want.length; i++) {
    const v = x.values[i];
    want[i] = v > 0 ? v : 0.5 * (Math.exp(v) - 1);
  }
  assertClose(tidy(() => elu(device.tensor(x.values, x.shape), { alpha: 0.5 }).dataSync()), want, {
    atol: 1e-6,
  });
});

Deno.test("resolveEluOptions() defaults alpha to 1 and rejects a non-positive or infinite alpha", () => {
  assert.deepEqual(resolveEluOptions({}), { alpha: 1 });
  for (const alpha of [0, -1, Infinity, NaN]) assert.throws(() => resolveEluOptions({ alpha }), RangeError);
});

Deno.test("elu and eluGrad CPU kernels agree with their references", () => {
  checkAgainstReference(device, eluOp, [arg([3, 5, 7])], { alpha: 1.3 });
  checkAgainstReference(device, eluGradOp, [arg([2, 33]), arg([2, 33])], { alpha: 0.7 });
});

Deno.test("elu() and eluGrad() gradients match central differences", () => {
  checkGradients(device, (x) => elu(x, { alpha: 0.8 }), [awayFromZero([2, 3, 4])], { rng, label: "elu" });
  checkGradients(device, (dy, x) => eluGrad(dy, x, { alpha: 1.5 }), [arg([3, 4]), awayFromZero([3, 4])], {
    rng,
    label: "eluGrad",
  });
});
