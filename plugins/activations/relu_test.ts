import { Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import activations from "./mod.ts";
import { relu, reluGrad, reluGradOp, reluOp } from "./relu.ts";

const device = await new Registry().use(cpu).use(activations).device("cpu");
const rng = new Rng(11);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape) => ({ values: uniform(rng, size(shape), -2, 2), shape });
/** Values in ±[0.2, 1]: no kink within a finite-difference step. */
const awayFromZero = (shape: Shape) => ({
  values: uniform(rng, size(shape), 0.2, 1).map((v) => (rng.next() < 0.5 ? -v : v)),
  shape,
});

Deno.test("relu() matches tf.relu", () => {
  const x = arg([2, 3, 4, 5]);
  const got = tidy(() => relu(device.tensor(x.values, x.shape)).dataSync());
  assertClose(got, tf.tidy(() => tf.relu(tf.tensor(x.values, [...x.shape])).dataSync()), { atol: 0 });
});

Deno.test("reluGrad() passes dy only where x > 0, including 0 at x = 0", () => {
  const dx = reluGrad(device.tensor([1, 2, 3, 4], [4]), device.tensor([-1, 0, 0.5, 2], [4]));
  assert.deepEqual([...dx.dataSync()], [0, 0, 3, 4]);
});

Deno.test("relu and reluGrad CPU kernels agree with their references", () => {
  checkAgainstReference(device, reluOp, [arg([3, 5, 7])], {});
  checkAgainstReference(device, reluGradOp, [arg([2, 33]), arg([2, 33])], {});
});

Deno.test("relu() and reluGrad() gradients match central differences", () => {
  checkGradients(device, (x) => relu(x), [awayFromZero([2, 3, 4])], { rng, label: "relu" });
  checkGradients(device, (dy, x) => reluGrad(dy, x), [arg([3, 4]), awayFromZero([3, 4])], {
    rng,
    label: "reluGrad",
  });
});

Deno.test("reluGrad() rejects dy and x of different shapes", () => {
  assert.throws(() => reluGrad(device.zeros([2, 3]), device.zeros([3, 2])), /dy has shape \[2,3\] but x/);
});

Deno.test("relu and reluGrad CPU kernels treat −0, ±Infinity, NaN and subnormals as x > 0 does", () => {
  const special = [-0, 0, Infinity, -Infinity, NaN, -NaN, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1];
  const x = device.tensor(special, [special.length]);
  const dy = device.tensor(special.map((_, i) => i + 1), [special.length]);
  const naive = special.map((v) => (v > 0 ? Math.fround(v) : 0));
  const naiveGrad = special.map((v, i) => (v > 0 ? i + 1 : 0));
  assert.deepEqual([...relu(x).dataSync()], naive);
  assert.deepEqual([...reluGrad(dy, x).dataSync()], naiveGrad);
  // No −0 comes out: the bit pattern of every zero is +0.
  assert.ok([...relu(x).dataSync()].every((v) => !Object.is(v, -0)));
});
