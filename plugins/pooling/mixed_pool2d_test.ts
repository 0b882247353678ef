import type { Shape, Tensor } from "@cnnlab/core";
import { assertClose, checkGradients } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import {
  applyAvgPool2d,
  applyMaxPool2d,
  applyMixedPool2d,
  drawMixingLambda,
  mixedPool2d,
  type MixedPool2dOptions,
} from "./mod.ts";
import { device, distinct, Rng, run, uniformArg } from "./_helpers_test.ts";

const rng = new Rng(5);

/** y = λ·max + (1 − λ)·mean over each k×k window with stride s, no padding, from the formula. */
function naiveMixed(x: Float32Array, [n, c, h, w]: Shape, k: number, s: number, lambda: number): number[] {
  const y: number[] = [];
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i + k <= h; i += s) {
      for (let j = 0; j + k <= w; j += s) {
        let max = -Infinity, sum = 0;
        for (let u = i; u < i + k; u++) {
          for (let v = j; v < j + k; v++) {
            max = Math.max(max, x[b * h * w + u * w + v]);
            sum += x[b * h * w + u * w + v];
          }
        }
        y.push(lambda * max + (1 - lambda) * sum / (k * k));
      }
    }
  }
  return y;
}

const forward = (options: MixedPool2dOptions, training: boolean, seed: number) => {
  const layer = mixedPool2d(options);
  return (x: Tensor) => layer.forward(x, { training, rng: new Rng(seed) });
};

Deno.test("applyMixedPool2d() with λ = 0.3 matches the formula (2×2/2, 3×3/2, 3×3/1)", () => {
  const shape = [2, 3, 9, 8];
  const x = uniformArg(rng, shape).values;
  for (const [k, s] of [[2, 2], [3, 2], [3, 1]]) {
    const want = naiveMixed(x, shape, k, s, 0.3);
    assertClose(run((t) => applyMixedPool2d(t, { poolSize: k, stride: s, lambda: 0.3 }), x, shape), want);
    assertClose(run(forward({ poolSize: k, stride: s, lambda: 0.3 }, true, 1), x, shape), want, {
      label: "layer",
    });
  }
});

Deno.test("mixedPool2d op function and layer with fixed λ pass central-difference gradient checks", () => {
  const options = { poolSize: 3, stride: 2, padding: 1, lambda: 0.3 };
  checkGradients(device, (t) => applyMixedPool2d(t, options), [distinct(rng, [1, 2, 5, 6])], { rng });
  checkGradients(device, forward(options, true, 1), [distinct(rng, [2, 2, 4, 4])], { rng, label: "layer" });
  checkGradients(device, forward({ poolSize: 2 }, false, 1), [distinct(rng, [1, 2, 4, 4])], {
    rng,
    label: "layer in inference (λ = 0.5)",
  });
});

Deno.test("mixedPool2d in training with mode binary gives exactly the max or the avg output, both over seeds", () => {
  const shape = [2, 3, 8, 8];
  const x = uniformArg(rng, shape).values;
  const max = run((t) => applyMaxPool2d(t, { poolSize: 2 }), x, shape);
  const avg = run((t) => applyAvgPool2d(t, { poolSize: 2 }), x, shape);
  const seen = new Set<string>();
  for (let seed = 0; seed < 16; seed++) {
    const y = run(forward({ poolSize: 2 }, true, seed), x, shape);
    const which = y.every((v, i) => v === max[i])
      ? "max"
      : y.every((v, i) => v === avg[i])
      ? "avg"
      : "neither";
    assert.notEqual(which, "neither", `seed ${seed}`);
    seen.add(which);
  }
  assert.deepEqual([...seen].sort(), ["avg", "max"]);
});

Deno.test("mixedPool2d in training is deterministic for a fixed seed and draws one λ per call", () => {
  const shape = [1, 2, 6, 6];
  const x = uniformArg(rng, shape).values;
  for (const mode of ["binary", "uniform"] as const) {
    assert.deepEqual(
      run(forward({ poolSize: 2, mode }, true, 7), x, shape),
      run(forward({ poolSize: 2, mode }, true, 7), x, shape),
    );
    // The layer draws exactly drawMixingLambda(rng, mode) from ctx.rng.
    const lambda = drawMixingLambda(new Rng(9), mode);
    assertClose(run(forward({ poolSize: 2, mode }, true, 9), x, shape), naiveMixed(x, shape, 2, 2, lambda));
  }
  const draws = Array.from({ length: 200 }, () => drawMixingLambda(rng, "uniform"));
  assert.ok(draws.every((l) => l >= 0 && l < 1) && draws.some((l) => l < 0.1) && draws.some((l) => l > 0.9));
});

Deno.test("mixedPool2d in inference uses λ = 0.5 unless lambda is fixed", () => {
  const shape = [1, 2, 6, 6];
  const x = uniformArg(rng, shape).values;
  assertClose(
    run(forward({ poolSize: 2, mode: "uniform" }, false, 3), x, shape),
    naiveMixed(x, shape, 2, 2, 0.5),
  );
  assertClose(
    run(forward({ poolSize: 2, lambda: 0.8 }, false, 3), x, shape),
    naiveMixed(x, shape, 2, 2, 0.8),
  );
});

Deno.test("mixedPool2d layer: shape, flops, parameters and option errors", () => {
  const layer = mixedPool2d({ poolSize: 3, stride: 2, mode: "uniform" });
  assert.equal(layer.type, "mixedPool2d");
  assert.deepEqual(layer.options, { poolSize: 3, stride: 2, mode: "uniform" });
  assert.deepEqual(layer.outputShape([4, 8, 13, 13]), [4, 8, 6, 6]);
  assert.equal(layer.flops!([4, 8, 13, 13]), 4 * 8 * 36 * 9);
  assert.equal(layer.parameters().size, 0);
  assert.throws(() => layer.outputShape([4, 8, 2, 13]), /Cannot apply mixedPool2d .*\[4,8,2,13\]/);
  assert.throws(() => mixedPool2d({ poolSize: 2, lambda: 1.5 }), /mixedPool2d: option "lambda"/);
  assert.throws(() => mixedPool2d({ poolSize: 2, mode: "normal" as "binary" }), /option "mode"/);
  assert.throws(
    () => applyMixedPool2d(device.tensor([1], [1, 1, 1, 1]), { poolSize: 1, lambda: -0.1 }),
    RangeError,
  );
});
