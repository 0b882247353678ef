import { Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import { setCpuKernels } from "@cnnlab/backend-cpu/gemm";
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

Deno.test("relu CPU kernels give Math.max(x, 0) for −0, ±Infinity, NaN of either sign and subnormals; reluGrad x > 0 ? dy : 0", () => {
  // NaNs by their bits: quiet and signalling payloads, sign bit clear and set.
  const nans = [
    ...new Float32Array(new Uint32Array([0x7fc00000, 0x7f800001, 0xffc00000, 0xff800001]).buffer),
  ];
  const special = [-0, 0, Infinity, -Infinity, ...nans, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1];
  // Twice over, so that the WebAssembly kernel's vector loop (4 at a time) sees every value too.
  const values = [...special, ...special];
  const naive = values.map((v) => Math.max(Math.fround(v), 0));
  const naiveGrad = values.map((v, i) => (v > 0 ? i + 1 : 0));
  for (const kernels of ["wasm", "ts"] as const) {
    const before = setCpuKernels(kernels);
    try {
      const x = device.tensor(values, [values.length]);
      const dy = device.tensor(values.map((_, i) => i + 1), [values.length]);
      // deepEqual compares as Object.is: NaN equals NaN, −0 differs from +0.
      assert.deepEqual([...relu(x).dataSync()], naive, `${kernels} relu`);
      assert.deepEqual([...reluGrad(dy, x).dataSync()], naiveGrad, `${kernels} reluGrad`);
    } finally {
      setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
    }
  }
});
