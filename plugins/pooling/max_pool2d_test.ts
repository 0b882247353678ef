import { ops, type Shape, type Tensor } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import {
  applyMaxPool2d,
  maxPool2d,
  maxPool2dBackwardOp,
  maxPool2dOp,
  type Pool2dOptions,
  resolvePool2dOptions,
} from "./mod.ts";
import { device, distinct, grad, Rng, run, tf, tfGrad, tfRun, uniformArg } from "./_helpers_test.ts";

const rng = new Rng(1);
const ctx = { training: true, rng };
const tfCases: [Pool2dOptions, [number, number]][] = [
  [{ poolSize: 2 }, [2, 2]],
  [{ poolSize: 3, stride: 2 }, [2, 2]],
  [{ poolSize: 3, stride: 1 }, [1, 1]],
];

Deno.test("applyMaxPool2d() matches tf.maxPool for 2×2/2, 3×3/2 and 3×3/1 (odd sizes)", () => {
  const shape = [2, 3, 9, 8];
  const x = uniformArg(rng, shape).values;
  for (const [options, strides] of tfCases) {
    const k = options.poolSize as number;
    const want = tfRun((t) => tf.maxPool(t, k, strides, "valid"), x, shape);
    const got = tf.tidy(() => run((t) => applyMaxPool2d(t, options), x, shape));
    assert.deepEqual(pool(shape, options), want.shape);
    assertClose(got, want.values, { atol: 0, rtol: 0, label: `maxPool2d ${JSON.stringify(options)}` });
  }
});

Deno.test("applyMaxPool2d() gradient matches tf.grad of tf.maxPool on inputs without ties", () => {
  const shape = [2, 3, 9, 8];
  const x = distinct(rng, shape).values;
  for (const [options, strides] of tfCases) {
    const k = options.poolSize as number;
    const outShape = pool(shape, options);
    const r = uniformArg(rng, outShape).values;
    const want = tfGrad((t) => tf.maxPool(t, k, strides, "valid"), x, shape, r, outShape);
    const got = grad((t) => applyMaxPool2d(t, options), x, shape, r);
    assertClose(got, want, { atol: 1e-6, label: `maxPool2d grad ${JSON.stringify(options)}` });
  }
});

Deno.test("maxPool2d CPU kernels agree with the reference, forward and backward, with and without padding", () => {
  for (const [shape, options] of cases) {
    const attrs = resolvePool2dOptions(options, "maxPool2d");
    const outShape = maxPool2dOp.outputShape([shape], attrs);
    const x = uniformArg(rng, shape);
    checkAgainstReference(device, maxPool2dOp, [x], attrs, { atol: 0, rtol: 0 });
    checkAgainstReference(device, maxPool2dBackwardOp, [x, uniformArg(rng, outShape)], attrs, { atol: 1e-6 });
  }
});

Deno.test("maxPool2d CPU kernels agree with the reference on inputs full of ties, ±0 included", () => {
  for (const [shape, options] of cases) {
    const attrs = resolvePool2dOptions(options, "maxPool2d");
    const outShape = maxPool2dOp.outputShape([shape], attrs);
    // Values in {−1, −0, 0, 1}: most windows tie, and the first position must win.
    const values = Float32Array.from(
      { length: shape.reduce((p, d) => p * d, 1) },
      () => [-1, -0, 0, 1][rng.int(4)],
    );
    checkAgainstReference(device, maxPool2dOp, [{ values, shape }], attrs, { atol: 0, rtol: 0 });
    checkAgainstReference(
      device,
      maxPool2dBackwardOp,
      [{ values, shape }, uniformArg(rng, outShape)],
      attrs,
      { atol: 1e-6 },
    );
  }
});

Deno.test("maxPool2d gradient goes to the first maximum of a window on ties", () => {
  const x = Float32Array.of(1, 3, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0);
  // Windows 1×4 on rows [1 3 3 3], [2 2 2 2], [0 0 0 0].
  const got = grad((t) => applyMaxPool2d(t, { poolSize: [1, 4] }), x, [1, 1, 3, 4], Float32Array.of(5, 6, 7));
  assert.deepEqual([...got], [0, 5, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0]);
});

Deno.test("maxPool2d with padding ignores padded positions (all-negative input stays negative)", () => {
  const x = Float32Array.of(-1, -2, -3, -4, -5, -6, -7, -8, -9);
  const got = run((t) => applyMaxPool2d(t, { poolSize: 2, stride: 2, padding: 1 }), x, [1, 1, 3, 3]);
  // Windows (rows/cols −1..0, −1..0), (−1..0, 1..2), (1..2, −1..0), (1..2, 1..2) clipped to the input.
  assert.deepEqual([...got], [-1, -2, -4, -5]);
});

Deno.test("maxPool2d op and layer pass central-difference gradient checks", () => {
  for (const [shape, options] of cases.slice(0, 4)) {
    const x = distinct(rng, shape);
    checkGradients(device, (t) => applyMaxPool2d(t, options), [x], {
      rng,
      label: `op ${JSON.stringify(options)}`,
    });
  }
  const layer = maxPool2d({ poolSize: 3, stride: 2, padding: 1 });
  checkGradients(device, (t) => layer.forward(t, ctx), [distinct(rng, [2, 2, 6, 5])], {
    rng,
    label: "layer",
  });
});

Deno.test("maxPool2d layer: output shape, flops, no parameters, and JSON options", () => {
  const layer = maxPool2d({ poolSize: [3, 2], stride: [2, 1] });
  assert.equal(layer.type, "maxPool2d");
  assert.deepEqual(layer.options, { poolSize: [3, 2], stride: [2, 1] });
  assert.deepEqual(layer.outputShape([4, 6, 9, 7]), [4, 6, 4, 6]);
  assert.equal(layer.flops!([4, 6, 9, 7]), 4 * 6 * 4 * 6 * 6);
  assert.equal(layer.parameters().size, 0);
  const y = layer.forward(device.tensor(new Float32Array(4 * 6 * 9 * 7), [4, 6, 9, 7]), ctx) as Tensor;
  assert.deepEqual(y.shape, [4, 6, 4, 6]);
});

Deno.test("maxPool2d layer rejects small or wrong-rank input with a TypeError naming the layer and shapes", () => {
  const layer = maxPool2d({ poolSize: 3, stride: 2 });
  assert.throws(
    () => layer.outputShape([1, 1, 2, 5]),
    (e: Error) =>
      e instanceof TypeError && /maxPool2d/.test(e.message) && /\[1,1,2,5\]/.test(e.message) &&
      /poolSize \[3,3\]/.test(e.message),
  );
  assert.throws(() => layer.outputShape([1, 5, 5]), TypeError);
  assert.throws(() => applyMaxPool2d(device.tensor([1, 2, 3, 4], [1, 1, 2, 2]), { poolSize: 3 }), TypeError);
  assert.throws(() => maxPool2d({ poolSize: 0 }), RangeError);
  assert.throws(() => maxPool2d({ poolSize: 2, padding: 2 }), /padding/);
  assert.throws(() => maxPool2d({ poolSize: 2, p: 2 } as Pool2dOptions), /unknown option "p"/);
});

Deno.test("maxPool2d gives the same result as ops.max over disjoint windows reshaped apart", () => {
  // A second, independent formulation: [1,1,4,6] with 2×3 windows → reshape to [2,2,2,3] and reduce.
  const x = uniformArg(rng, [1, 1, 4, 6]).values;
  const want = run(
    (t) =>
      ops.max(ops.transpose(ops.reshape(t, [2, 2, 2, 3]), { perm: [0, 2, 1, 3] }), {
        axes: [2, 3],
      }),
    x,
    [1, 1, 4, 6],
  );
  assertClose(run((t) => applyMaxPool2d(t, { poolSize: [2, 3] }), x, [1, 1, 4, 6]), want, {
    atol: 0,
    rtol: 0,
  });
});

/** Shapes and options covering the 2×2 fast path, overlap, rectangles, strides and padding. */
const cases: [Shape, Pool2dOptions][] = [
  [[2, 3, 6, 6], { poolSize: 2 }],
  [[1, 2, 7, 6], { poolSize: 3, stride: 1 }],
  [[2, 2, 7, 9], { poolSize: [2, 3], stride: [1, 2] }],
  [[1, 3, 5, 5], { poolSize: 3, stride: 2, padding: 1 }],
  [[2, 3, 28, 28], { poolSize: 2 }],
  [[1, 2, 9, 8], { poolSize: [3, 2], stride: [2, 3], padding: [1, 1] }],
  [[2, 1, 5, 7], { poolSize: 2, stride: 2 }],
];

function pool(shape: Shape, options: Pool2dOptions): number[] {
  return maxPool2dOp.outputShape([shape], resolvePool2dOptions(options, "maxPool2d")) as number[];
}
