import { runOp, type Shape } from "@cnnlab/core";
import { assertClose, matchesReference } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import { type LpPool2dAttrs, lpPool2dBackwardOp, lpPool2dOp, resolveLpPool2dOptions } from "./mod.ts";
import { device as cpuDevice } from "./_helpers_test.ts";
import { cases, gpu, gpuTestOptions, read, Rng, size, uniformArg } from "./_helpers_webgpu_test.ts";

const rng = new Rng(9);
const exponents: { p: number; mean: boolean }[] = [
  { p: 1, mean: false },
  { p: 2, mean: false },
  { p: 3, mean: true },
  { p: 2.5, mean: false },
  { p: 7, mean: true },
];

/** Inputs of lpPool2dBackward: `x`, the reference forward output `y` and a random `dy`. */
function backwardInputs(x: { values: Float32Array; shape: Shape }, attrs: LpPool2dAttrs) {
  const outShape = lpPool2dOp.outputShape([x.shape], attrs);
  const y = lpPool2dOp.reference([x.values], [x.shape], attrs, outShape);
  return [x, { values: y, shape: outShape }, uniformArg(rng, outShape)];
}

Deno.test({
  name:
    "lpPool2d WebGPU kernels match the reference, forward and backward, for p = 1, 2, 3, 2.5, 7 on every window case",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  for (const { p, mean } of exponents) {
    for (const { shape, options, label } of cases) {
      const attrs = resolveLpPool2dOptions({ ...options, p, mean });
      const x = uniformArg(rng, shape);
      const what = `${label}, p = ${p}, mean = ${mean}`;
      await matchesReference(device, lpPool2dOp, [x], attrs, { atol: 1e-5, rtol: 1e-4 }).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      await matchesReference(device, lpPool2dBackwardOp, backwardInputs(x, attrs), attrs, {
        atol: 1e-5,
        rtol: 1e-3,
      }).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
  }
});

Deno.test({
  name: "lpPool2d WebGPU kernels give 0 and gradient 0 for all-zero windows, and 0 gradient at x = 0",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  for (const p of [1, 2, 3, 2.5]) {
    const attrs = resolveLpPool2dOptions({ poolSize: 2, p });
    // Rows [0 0 0 3] and [0 0 −4 1]: the left 2×2 window is all zeros, the right one holds a zero (x[2]).
    const x = { values: Float32Array.of(0, 0, 0, 3, 0, 0, -4, 1), shape: [1, 1, 2, 4] };
    const [, yIn, dy] = backwardInputs(x, attrs);
    const y = await read(() => runOp(lpPool2dOp, [device.tensor(x.values, x.shape)], attrs));
    assert.equal(y[0], 0);
    const dx = await read(() =>
      runOp(lpPool2dBackwardOp, [x, yIn, dy].map((t) => device.tensor(t.values, t.shape)), attrs)
    );
    assert.ok(dx.every(Number.isFinite), `p = ${p}: ${dx}`);
    assert.deepEqual([dx[0], dx[1], dx[4], dx[5], dx[2]], [0, 0, 0, 0, 0]);
    await matchesReference(device, lpPool2dBackwardOp, [x, yIn, dy], attrs, { atol: 1e-6 });
    // The op defines a window whose y is 0 as gradient 0, whatever x holds.
    const nonzero = uniformArg(rng, x.shape, 1, 2);
    const zeroY = { values: new Float32Array(2), shape: yIn.shape };
    await matchesReference(device, lpPool2dBackwardOp, [nonzero, zeroY, dy], attrs, { atol: 0, rtol: 0 });
  }
});

Deno.test({
  name:
    "lpPool2d WebGPU kernels stay finite for p = 64 on values near 1e6 and 1e-6 and agree with the CPU kernels",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  const shape = [2, 2, 6, 6];
  for (const mean of [false, true]) {
    const attrs = resolveLpPool2dOptions({ poolSize: 3, stride: 2, padding: 1, p: 64, mean });
    const outShape = lpPool2dOp.outputShape([shape], attrs);
    for (const magnitude of [1e6, 1e-6, 1e20]) {
      const values = uniformArg(rng, shape, -magnitude, magnitude).values;
      const dy = uniformArg(rng, outShape).values;
      const cpuY = runOp(lpPool2dOp, [cpuDevice.tensor(values, shape)], attrs).dataSync();
      const cpuDx = runOp(lpPool2dBackwardOp, [
        cpuDevice.tensor(values, shape),
        cpuDevice.tensor(cpuY, outShape),
        cpuDevice.tensor(dy, outShape),
      ], attrs).dataSync();
      const y = await read(() => runOp(lpPool2dOp, [device.tensor(values, shape)], attrs));
      const dx = await read(() =>
        runOp(lpPool2dBackwardOp, [
          device.tensor(values, shape),
          device.tensor(cpuY, outShape),
          device.tensor(dy, outShape),
        ], attrs)
      );
      const what = `p = 64, mean = ${mean}, |x| ≤ ${magnitude}`;
      assert.ok(y.every((v) => Number.isFinite(v) && v > 0), what);
      assert.ok(dx.every(Number.isFinite), what);
      assertClose(y, cpuY, { atol: 0, rtol: 1e-4, label: `y, ${what}` });
      assertClose(dx, cpuDx, { atol: 1e-5, rtol: 1e-3, label: `dx, ${what}` });
      assert.equal(dx.length, size(shape));
    }
  }
});
