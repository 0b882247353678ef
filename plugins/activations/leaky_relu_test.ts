import { Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import activations from "./mod.ts";
import {
  leakyRelu,
  leakyReluGrad,
  leakyReluGradOp,
  leakyReluOp,
  resolveLeakyReluOptions,
} from "./leaky_relu.ts";

const device = await new Registry().use(cpu).use(activations).device("cpu");
const rng = new Rng(12);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape) => ({ values: uniform(rng, size(shape), -2, 2), shape });
/** Values in ±[0.2, 1]: no kink within a finite-difference step. */
const awayFromZero = (shape: Shape) => ({
  values: uniform(rng, size(shape), 0.2, 1).map((v) => (rng.next() < 0.5 ? -v : v)),
  shape,
});

Deno.test("leakyRelu() matches tf.leakyRelu for the default and a custom alpha", () => {
  const x = arg([2, 3, 4, 5]);
  for (const alpha of [undefined, 0.2]) {
    const got = tidy(() => leakyRelu(device.tensor(x.values, x.shape), { alpha }).dataSync());
    const want = tf.tidy(() => tf.leakyRelu(tf.tensor(x.values, [...x.shape]), alpha ?? 0.01).dataSync());
    assertClose(got, want, { atol: 1e-7 });
  }
});

Deno.test("resolveLeakyReluOptions() defaults alpha to 0.01 and rejects alpha outside (0, 1)", () => {
  assert.deepEqual(resolveLeakyReluOptions({}), { alpha: 0.01 });
  for (const alpha of [0, 1, -0.1, 1.5, NaN]) {
    assert.throws(
      () => resolveLeakyReluOptions({ alpha }),
      /leakyRelu with alpha .*: alpha must be a number in \(0, 1\)/,
    );
  }
  assert.throws(() => leakyRelu(device.zeros([2]), { alpha: 3 }), RangeError);
});

Deno.test("leakyRelu and leakyReluGrad CPU kernels agree with their references", () => {
  checkAgainstReference(device, leakyReluOp, [arg([3, 5, 7])], { alpha: 0.3 });
  checkAgainstReference(device, leakyReluGradOp, [arg([2, 33]), arg([2, 33])], { alpha: 0.07 });
});

Deno.test("leakyRelu() and leakyReluGrad() gradients match central differences", () => {
  checkGradients(device, (x) => leakyRelu(x, { alpha: 0.1 }), [awayFromZero([2, 3, 4])], {
    rng,
    label: "leakyRelu",
  });
  checkGradients(
    device,
    (dy, x) => leakyReluGrad(dy, x, { alpha: 0.3 }),
    [arg([3, 4]), awayFromZero([3, 4])],
    {
      rng,
      label: "leakyReluGrad",
    },
  );
});
