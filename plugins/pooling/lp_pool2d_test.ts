import { runOp, type Shape } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import {
  applyAvgPool2d,
  applyLpPool2d,
  applyMaxPool2d,
  lpPool2d,
  lpPool2dBackwardOp,
  lpPool2dOp,
  type LpPool2dOptions,
  resolveLpPool2dOptions,
} from "./mod.ts";
import { device, grad, Rng, run, uniformArg } from "./_helpers_test.ts";

const rng = new Rng(4);
const ctx = { training: true, rng };

/** y = (Σ|x|^p)^(1/p) or (mean |x|^p)^(1/p) over the valid positions of each window, straight from the formula. */
function naiveLp(
  x: Float32Array,
  [n, c, h, w]: Shape,
  k: number,
  s: number,
  pad: number,
  p: number,
  mean: boolean,
) {
  const oh = Math.floor((h + 2 * pad - k) / s) + 1, ow = Math.floor((w + 2 * pad - k) / s) + 1;
  const y: number[] = [];
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let acc = 0, count = 0;
        for (let u = i * s - pad; u < i * s - pad + k; u++) {
          for (let v = j * s - pad; v < j * s - pad + k; v++) {
            if (u < 0 || v < 0 || u >= h || v >= w) continue;
            acc += Math.abs(x[b * h * w + u * w + v]) ** p;
            count++;
          }
        }
        y.push((mean ? acc / count : acc) ** (1 / p));
      }
    }
  }
  return y;
}

/** x with |x| ≥ 0.2 and random signs, away from |x|'s kink at 0. */
function awayFromZero(shape: Shape) {
  const { values } = uniformArg(rng, shape, 0.2, 1.5);
  for (let i = 0; i < values.length; i++) if (rng.next() < 0.5) values[i] = -values[i];
  return { values, shape };
}

const windows: { k: number; s: number; pad: number }[] = [
  { k: 2, s: 2, pad: 0 },
  { k: 3, s: 2, pad: 0 },
  { k: 3, s: 1, pad: 1 },
];

Deno.test("applyLpPool2d() matches the formula for p = 1, 2, 3, 3.5, 8, sum and mean forms, with and without padding", () => {
  const shape = [2, 3, 7, 8];
  const x = uniformArg(rng, shape).values;
  for (const p of [1, 2, 3, 3.5, 8]) {
    for (const mean of [false, true]) {
      for (const { k, s, pad } of windows) {
        const options = { poolSize: k, stride: s, padding: pad, p, mean };
        assertClose(run((t) => applyLpPool2d(t, options), x, shape), naiveLp(x, shape, k, s, pad, p, mean), {
          label: JSON.stringify(options),
        });
      }
    }
  }
});

Deno.test("applyLpPool2d() with p = 1 in mean form equals avgPool2d on non-negative input", () => {
  const shape = [2, 3, 9, 8];
  const x = uniformArg(rng, shape, 0, 2).values;
  for (const options of [{ poolSize: 2 }, { poolSize: 3, stride: 2, padding: 1 }]) {
    assertClose(
      run((t) => applyLpPool2d(t, { ...options, p: 1, mean: true }), x, shape),
      run((t) => applyAvgPool2d(t, options), x, shape),
      { atol: 1e-6 },
    );
  }
});

Deno.test("applyLpPool2d() with p = 64 is close to max pooling of |x| and is stable at 1e6 and 1e-6 scales", () => {
  const shape = [2, 2, 6, 6];
  const base = uniformArg(rng, shape).values;
  const r = uniformArg(rng, [2, 2, 3, 3]).values;
  const dxBase = grad((t) => applyLpPool2d(t, { poolSize: 2, p: 64 }), base, shape, r);
  for (const scale of [1, 1e6, 1e-6]) {
    const x = base.map((v) => v * scale);
    const y = run((t) => applyLpPool2d(t, { poolSize: 2, p: 64 }), x, shape);
    const max = run((t) => applyMaxPool2d(t, { poolSize: 2 }), x.map(Math.abs), shape);
    // max ≤ (Σ|x|^64)^(1/64) ≤ 4^(1/64)·max ≈ 1.022·max
    for (let i = 0; i < y.length; i++) {
      assert.ok(
        y[i] >= max[i] * (1 - 1e-6) && y[i] <= max[i] * 1.0221,
        `scale ${scale} [${i}]: ${y[i]} vs ${max[i]}`,
      );
    }
    const mean = run((t) => applyLpPool2d(t, { poolSize: 2, p: 64, mean: true }), x, shape);
    assertClose(mean, max, { rtol: 0.022, atol: 0 });
    // y is homogeneous of degree 1, so its gradient does not depend on the scale.
    const dx = grad((t) => applyLpPool2d(t, { poolSize: 2, p: 64 }), x, shape, r);
    assertClose(dx, dxBase, { atol: 1e-5, rtol: 1e-3, label: `gradient at scale ${scale}` });
  }
});

Deno.test("applyLpPool2d() of an all-zero window is 0 with gradient 0, not NaN", () => {
  const x = Float32Array.of(0, 0, 1, 2, 0, 0, 3, 4);
  for (const p of [1, 2, 3.5, 64]) {
    for (const mean of [false, true]) {
      const y = run((t) => applyLpPool2d(t, { poolSize: 2, p, mean }), x, [1, 1, 2, 4]);
      assert.equal(y[0], 0);
      const dx = grad(
        (t) => applyLpPool2d(t, { poolSize: 2, p, mean }),
        x,
        [1, 1, 2, 4],
        Float32Array.of(1, 1),
      );
      assert.deepEqual([dx[0], dx[1], dx[4], dx[5]], [0, 0, 0, 0], `p=${p} mean=${mean}`);
      assert.ok(dx.every(Number.isFinite));
    }
  }
});

Deno.test("lpPool2d CPU kernels agree with the reference, forward and backward", () => {
  const shapes: [Shape, Omit<LpPool2dOptions, "p">][] = [
    [[2, 3, 6, 6], { poolSize: 2 }],
    [[1, 2, 7, 6], { poolSize: 3, stride: 1, padding: 1 }],
    [[2, 2, 7, 9], { poolSize: [2, 3], stride: [1, 2] }],
  ];
  for (const [shape, window] of shapes) {
    for (const p of [1, 2, 3, 3.5, 8, 64]) {
      for (const mean of [false, true]) {
        const attrs = resolveLpPool2dOptions({ ...window, p, mean });
        const x = uniformArg(rng, shape);
        x.values[0] = 0; // a zero input: sign 0
        const y = {
          values: run((t) => runOp(lpPool2dOp, [t], attrs), x.values, shape),
          shape: lpPool2dOp.outputShape([shape], attrs),
        };
        checkAgainstReference(device, lpPool2dOp, [x], attrs, { atol: 1e-6 });
        checkAgainstReference(device, lpPool2dBackwardOp, [x, y, uniformArg(rng, y.shape)], attrs, {
          atol: 1e-5,
          rtol: 1e-3,
        });
      }
    }
  }
});

Deno.test("lpPool2d op and layer pass central-difference gradient checks (p = 1, 2, 3.5; sum and mean)", () => {
  for (const p of [1, 2, 3.5]) {
    for (const mean of [false, true]) {
      const options = { poolSize: 3, stride: 2, padding: 1, p, mean };
      checkGradients(device, (t) => applyLpPool2d(t, options), [awayFromZero([1, 2, 5, 5])], {
        rng,
        label: JSON.stringify(options),
      });
    }
  }
  const layer = lpPool2d({ poolSize: 2, p: 3 });
  checkGradients(device, (t) => layer.forward(t, ctx), [awayFromZero([2, 2, 4, 4])], { rng, label: "layer" });
});

Deno.test("lpPool2d layer: shape, flops, parameters, and p < 1 is a RangeError", () => {
  const layer = lpPool2d({ poolSize: 2, p: 2, mean: true });
  assert.equal(layer.type, "lpPool2d");
  assert.deepEqual(layer.options, { poolSize: 2, p: 2, mean: true });
  assert.deepEqual(layer.outputShape([8, 6, 28, 28]), [8, 6, 14, 14]);
  assert.equal(layer.flops!([8, 6, 28, 28]), 8 * 6 * 14 * 14 * 4);
  assert.equal(layer.parameters().size, 0);
  assert.throws(() => lpPool2d({ poolSize: 2, p: 0.9 }), /lpPool2d: option "p"/);
  assert.throws(() => lpPool2d({ poolSize: 2 } as LpPool2dOptions), RangeError);
  assert.throws(() => lpPool2d({ poolSize: 2, p: Infinity }), RangeError);
  assert.throws(() => lpPool2d({ poolSize: 2, p: 2, mean: 1 as unknown as boolean }), /option "mean"/);
  assert.throws(() => layer.outputShape([8, 6, 1, 28]), TypeError);
});
