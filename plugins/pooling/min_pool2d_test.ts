import type { Shape } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import {
  applyMinPool2d,
  minPool2d,
  minPool2dBackwardOp,
  minPool2dOp,
  type Pool2dOptions,
  resolvePool2dOptions,
} from "./mod.ts";
import { device, distinct, grad, Rng, run, tf, tfGrad, tfRun, uniformArg } from "./_helpers_test.ts";

const rng = new Rng(3);
const ctx = { training: true, rng };
const tfCases: [Pool2dOptions, [number, number]][] = [
  [{ poolSize: 2 }, [2, 2]],
  [{ poolSize: 3, stride: 2 }, [2, 2]],
  [{ poolSize: 3, stride: 1 }, [1, 1]],
];
const cases: [Shape, Pool2dOptions][] = [
  [[2, 3, 6, 6], { poolSize: 2 }],
  [[1, 2, 7, 6], { poolSize: 3, stride: 1 }],
  [[2, 2, 7, 9], { poolSize: [2, 3], stride: [1, 2] }],
  [[1, 3, 5, 5], { poolSize: 3, stride: 2, padding: 1 }],
  [[2, 3, 28, 28], { poolSize: 2 }],
  [[1, 2, 9, 8], { poolSize: [3, 2], stride: [2, 3], padding: [1, 1] }],
];
// min pooling as TensorFlow.js can express it: −maxPool(−x).
const tfMin = (k: number, strides: [number, number]) => (t: Parameters<Parameters<typeof tfRun>[0]>[0]) =>
  tf.neg(tf.maxPool(tf.neg(t), k, strides, "valid"));

Deno.test("applyMinPool2d() matches −tf.maxPool(−x) for 2×2/2, 3×3/2 and 3×3/1", () => {
  const shape = [2, 3, 9, 8];
  const x = uniformArg(rng, shape).values;
  for (const [options, strides] of tfCases) {
    const want = tfRun(tfMin(options.poolSize as number, strides), x, shape);
    assert.deepEqual(
      minPool2dOp.outputShape([shape], resolvePool2dOptions(options, "minPool2d")),
      want.shape,
    );
    assertClose(run((t) => applyMinPool2d(t, options), x, shape), want.values, { atol: 0, rtol: 0 });
  }
});

Deno.test("applyMinPool2d() gradient matches tf.grad of −tf.maxPool(−x) on inputs without ties", () => {
  const shape = [2, 3, 9, 8];
  const x = distinct(rng, shape).values;
  for (const [options, strides] of tfCases) {
    const outShape = minPool2dOp.outputShape([shape], resolvePool2dOptions(options, "minPool2d"));
    const r = uniformArg(rng, outShape).values;
    const want = tfGrad(tfMin(options.poolSize as number, strides), x, shape, r, outShape);
    assertClose(grad((t) => applyMinPool2d(t, options), x, shape, r), want, { atol: 1e-6 });
  }
});

Deno.test("minPool2d CPU kernels agree with the reference, forward and backward", () => {
  for (const [shape, options] of cases) {
    const attrs = resolvePool2dOptions(options, "minPool2d");
    const outShape = minPool2dOp.outputShape([shape], attrs);
    const x = uniformArg(rng, shape);
    checkAgainstReference(device, minPool2dOp, [x], attrs, { atol: 0, rtol: 0 });
    checkAgainstReference(device, minPool2dBackwardOp, [x, uniformArg(rng, outShape)], attrs, { atol: 1e-6 });
  }
});

Deno.test("minPool2d CPU kernels agree with the reference on inputs full of ties, ±0 included", () => {
  for (const [shape, options] of cases) {
    const attrs = resolvePool2dOptions(options, "minPool2d");
    const outShape = minPool2dOp.outputShape([shape], attrs);
    // Values in {−1, −0, 0, 1}: most windows tie, and the first position must win.
    const values = Float32Array.from(
      { length: shape.reduce((p, d) => p * d, 1) },
      () => [-1, -0, 0, 1][rng.int(4)],
    );
    checkAgainstReference(device, minPool2dOp, [{ values, shape }], attrs, { atol: 0, rtol: 0 });
    checkAgainstReference(
      device,
      minPool2dBackwardOp,
      [{ values, shape }, uniformArg(rng, outShape)],
      attrs,
      { atol: 1e-6 },
    );
  }
});

Deno.test("minPool2d gradient goes to the first minimum of a window on ties", () => {
  const x = Float32Array.of(3, 1, 1, 2, 2, 2, 2, 2); // 2×2/2 windows: [3 1; 2 2] and [1 2; 2 2]
  const got = grad((t) => applyMinPool2d(t, { poolSize: 2 }), x, [1, 1, 2, 4], Float32Array.of(5, 6));
  assert.deepEqual([...got], [0, 5, 6, 0, 0, 0, 0, 0]);
  const flat = grad(
    (t) => applyMinPool2d(t, { poolSize: 2, stride: 1 }),
    new Float32Array(9),
    [1, 1, 3, 3],
    Float32Array.of(1, 2, 3, 4),
  );
  assert.deepEqual([...flat], [1, 2, 0, 3, 4, 0, 0, 0, 0]);
});

Deno.test("minPool2d op and layer pass central-difference gradient checks", () => {
  for (const [shape, options] of cases.slice(0, 4)) {
    checkGradients(device, (t) => applyMinPool2d(t, options), [distinct(rng, shape)], { rng });
  }
  const layer = minPool2d({ poolSize: [2, 3], stride: 1, padding: [1, 0] });
  checkGradients(device, (t) => layer.forward(t, ctx), [distinct(rng, [1, 2, 5, 6])], {
    rng,
    label: "layer",
  });
});

Deno.test("minPool2d layer: shape, flops, parameters and errors", () => {
  const layer = minPool2d({ poolSize: 2 });
  assert.equal(layer.type, "minPool2d");
  assert.deepEqual(layer.outputShape([3, 2, 5, 4]), [3, 2, 2, 2]);
  assert.equal(layer.flops!([3, 2, 5, 4]), 3 * 2 * 4 * 4);
  assert.equal(layer.parameters().size, 0);
  assert.throws(() => layer.outputShape([3, 2, 5, 1]), /Cannot apply minPool2d .*\[3,2,5,1\]/);
  assert.throws(() => minPool2d({ poolSize: [2, 2.5] as unknown as [number, number] }), RangeError);
});
