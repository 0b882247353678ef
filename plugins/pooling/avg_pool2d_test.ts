import { runOp, type Shape } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import {
  applyAvgPool2d,
  avgPool2d,
  avgPool2dBackwardOp,
  avgPool2dOp,
  type Pool2dOptions,
  resolvePool2dOptions,
} from "./mod.ts";
import { device, grad, Rng, run, tf, tfGrad, tfRun, uniformArg } from "./_helpers_test.ts";

const rng = new Rng(2);
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
  [[2, 1, 5, 7], { poolSize: 2, stride: 2 }],
];
const outShapeOf = (shape: Shape, options: Pool2dOptions) =>
  avgPool2dOp.outputShape([shape], resolvePool2dOptions(options, "avgPool2d"));

Deno.test("applyAvgPool2d() matches tf.avgPool for 2×2/2, 3×3/2 and 3×3/1 (odd sizes)", () => {
  const shape = [2, 3, 9, 8];
  const x = uniformArg(rng, shape).values;
  for (const [options, strides] of tfCases) {
    const k = options.poolSize as number;
    const want = tfRun((t) => tf.avgPool(t, k, strides, "valid"), x, shape);
    assert.deepEqual(outShapeOf(shape, options), want.shape);
    assertClose(run((t) => applyAvgPool2d(t, options), x, shape), want.values, { atol: 1e-6 });
  }
});

Deno.test("applyAvgPool2d() gradient matches tf.grad of tf.avgPool", () => {
  const shape = [2, 3, 9, 8];
  const x = uniformArg(rng, shape).values;
  for (const [options, strides] of tfCases) {
    const k = options.poolSize as number;
    const outShape = outShapeOf(shape, options);
    const r = uniformArg(rng, outShape).values;
    const want = tfGrad((t) => tf.avgPool(t, k, strides, "valid"), x, shape, r, outShape);
    assertClose(grad((t) => applyAvgPool2d(t, options), x, shape, r), want, { atol: 1e-6 });
  }
});

Deno.test("avgPool2d CPU kernels agree with the reference, forward and backward, with and without padding", () => {
  for (const [shape, options] of cases) {
    const attrs = resolvePool2dOptions(options, "avgPool2d");
    const outShape = avgPool2dOp.outputShape([shape], attrs);
    checkAgainstReference(device, avgPool2dOp, [uniformArg(rng, shape)], attrs, { atol: 1e-6 });
    checkAgainstReference(device, avgPool2dBackwardOp, [uniformArg(rng, outShape)], {
      ...attrs,
      inputShape: shape,
    }, {
      atol: 1e-6,
    });
  }
});

Deno.test("avgPool2d with padding counts only valid positions", () => {
  const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  const got = run((t) => applyAvgPool2d(t, { poolSize: 2, padding: 1 }), x, [1, 1, 3, 3]);
  // Windows clipped to {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}.
  assertClose(got, [1, 2.5, 5.5, 7]);
  const dx = grad(
    (t) => applyAvgPool2d(t, { poolSize: 2, padding: 1 }),
    x,
    [1, 1, 3, 3],
    Float32Array.of(1, 2, 4, 8),
  );
  assertClose(dx, [1, 1, 1, 2, 2, 2, 2, 2, 2]);
});

Deno.test("avgPool2d op, its backward op and the layer pass central-difference gradient checks", () => {
  for (const [shape, options] of cases.slice(0, 4)) {
    checkGradients(device, (t) => applyAvgPool2d(t, options), [uniformArg(rng, shape)], { rng });
    const attrs = { ...resolvePool2dOptions(options, "avgPool2d"), inputShape: shape };
    const dy = uniformArg(rng, outShapeOf(shape, options));
    checkGradients(device, (t) => runOp(avgPool2dBackwardOp, [t], attrs), [dy], { rng, label: "backward" });
  }
  const layer = avgPool2d({ poolSize: 3, stride: 2, padding: 1 });
  checkGradients(device, (t) => layer.forward(t, ctx), [uniformArg(rng, [2, 2, 6, 5])], {
    rng,
    label: "layer",
  });
});

Deno.test("avgPool2d layer: output shape, flops, no parameters, and errors naming the layer", () => {
  const layer = avgPool2d({ poolSize: 2 });
  assert.equal(layer.type, "avgPool2d");
  assert.deepEqual(layer.outputShape([64, 16, 10, 10]), [64, 16, 5, 5]);
  assert.equal(layer.flops!([64, 16, 10, 10]), 64 * 16 * 25 * 4);
  assert.equal(layer.parameters().size, 0);
  assert.throws(() => layer.outputShape([2, 3, 1, 4]), /Cannot apply avgPool2d .*\[2,3,1,4\]/);
  assert.throws(() => layer.outputShape([2, 3, 1, 4]), TypeError);
  assert.throws(() => avgPool2d({ poolSize: 2, stride: 0 }), /avgPool2d: option "stride"/);
});
