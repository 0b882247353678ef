import { Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import activations from "./mod.ts";
import { maxout, maxoutGrad, maxoutGradOp, maxoutOp, resolveMaxoutOptions } from "./maxout.ts";

const device = await new Registry().use(cpu).use(activations).device("cpu");
const rng = new Rng(15);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape) => ({ values: uniform(rng, size(shape), -2, 2), shape });
/** Distinct values 0.05 apart in random order: no two pieces within a finite-difference step. */
const spread = (shape: Shape) => {
  const values = Float32Array.from(rng.shuffle([...Array(size(shape)).keys()]), (i) => i * 0.05 - 1);
  return { values, shape };
};

/** Maxout written from its definition: channel j of the output is the max of channels j·k … j·k+k−1. */
function naiveMaxout(x: Float32Array, [n, c, ...rest]: number[], k: number): Float32Array {
  const inner = rest.reduce((p, d) => p * d, 1);
  const y = new Float32Array((n * c * inner) / k);
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < c / k; j++) {
      for (let p = 0; p < inner; p++) {
        const values = [];
        for (let i = 0; i < k; i++) values.push(x[(b * c + j * k + i) * inner + p]);
        y[(b * (c / k) + j) * inner + p] = Math.max(...values);
      }
    }
  }
  return y;
}

Deno.test("maxout() matches a naive loop on NCHW and [batch, features] inputs", () => {
  for (const [shape, k] of [[[2, 6, 3, 4], 3], [[5, 8], 2], [[3, 4, 7], 4], [[2, 3, 2, 2], 1]] as const) {
    const x = arg(shape);
    const got = tidy(() => maxout(device.tensor(x.values, shape), { pieces: k }));
    assert.deepEqual(got.shape, [shape[0], shape[1] / k, ...shape.slice(2)]);
    assertClose(got.dataSync(), naiveMaxout(x.values, [...shape], k), { atol: 0 });
  }
});

Deno.test("maxout() groups consecutive channels, not interleaved ones", () => {
  // Channels 0..3 hold 0, 1, 2, 3: groups {0, 1} and {2, 3} give 1 and 3 (interleaving would give 2 and 3).
  const y = maxout(device.tensor([0, 1, 2, 3], [1, 4, 1, 1]), { pieces: 2 });
  assert.deepEqual([...y.dataSync()], [1, 3]);
});

Deno.test("maxoutGrad() sends the gradient to the argmax, the first one on ties", () => {
  const x = device.tensor([2, 2, 1, 5, 5, -1], [1, 6]);
  assert.deepEqual([...maxoutGrad(device.tensor([10, 20], [1, 2]), x, { pieces: 3 }).dataSync()], [
    10,
    0,
    0,
    20,
    0,
    0,
  ]);
});

Deno.test("maxout and maxoutGrad CPU kernels agree with their references, ties included", () => {
  for (const [shape, k] of [[[2, 6, 3, 4], 3], [[5, 8], 2], [[3, 4, 7], 4]] as const) {
    const x = arg(shape), ties = { values: x.values.map((v) => Math.round(v)), shape };
    const dy = arg([shape[0], shape[1] / k, ...shape.slice(2)]);
    checkAgainstReference(device, maxoutOp, [x], { pieces: k });
    checkAgainstReference(device, maxoutGradOp, [dy, x], { pieces: k });
    checkAgainstReference(device, maxoutGradOp, [dy, ties], { pieces: k });
  }
});

Deno.test("maxout() and maxoutGrad() gradients match central differences", () => {
  checkGradients(device, (x) => maxout(x, { pieces: 2 }), [spread([2, 4, 2, 3])], { rng, label: "maxout" });
  checkGradients(device, (x) => maxout(x, { pieces: 3 }), [spread([3, 6])], { rng, label: "maxout 2-D" });
  checkGradients(device, (dy, x) => maxoutGrad(dy, x, { pieces: 2 }), [
    arg([2, 2, 2, 3]),
    spread([2, 4, 2, 3]),
  ], {
    rng,
    label: "maxoutGrad",
  });
});

Deno.test("maxout() rejects a bad piece count and channels it does not divide", () => {
  for (const pieces of [0, -2, 1.5, NaN]) {
    assert.throws(() => resolveMaxoutOptions({ pieces }), /pieces must be a positive integer/);
  }
  assert.throws(() => resolveMaxoutOptions({} as { pieces: number }), RangeError);
  assert.throws(
    () => maxout(device.zeros([2, 6, 3, 3]), { pieces: 4 }),
    (e) => e instanceof TypeError && /6 channels \(axis 1\) are not divisible by 4/.test(e.message),
  );
  assert.throws(() => maxout(device.zeros([6]), { pieces: 2 }), /needs a channel axis/);
});
