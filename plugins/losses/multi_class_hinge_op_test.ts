import { gradients, Registry, Rng, runOp, type Shape } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import losses from "./mod.ts";
import {
  multiClassHingeGrad,
  multiClassHingeGradOp,
  multiClassHingeLoss,
  multiClassHingeOp,
} from "./multi_class_hinge_op.ts";

const device = await new Registry().use(cpu).use(losses).device("cpu");
const rng = new Rng(23);

function labelsFor(n: number, k: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.int(k));
}

/** Scores in [−3, 3) at least 0.1 away from the kinks at ±1, so central differences with eps 1e-2 are smooth. */
function awayFromKinks(n: number): Float32Array {
  const x = uniform(rng, n, -3, 3);
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(Math.abs(x[i]) - 1) < 0.1) x[i] += 0.25;
  }
  return x;
}

/** Scores with exact kinks (±1) and large values mixed in. */
function withKinks(n: number): Float32Array {
  const x = uniform(rng, n, -2, 2);
  for (let i = 0; i < n; i += 3) x[i] = [1, -1, 1000, -1000][rng.int(4)];
  return x;
}

/** Naive loss in float64 from the formula: δ = +1 for the true class, −1 otherwise. */
function naiveLoss(s: Float32Array, y: Float32Array, n: number, k: number, p: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const delta = j === y[i] ? 1 : -1;
      const m = 1 - delta * s[i * k + j];
      if (m > 0) total += p === 1 ? m : m * m;
    }
  }
  return total / n;
}

Deno.test("multiClassHingeLoss() and multiClassHingeGrad() on a 2×3 example worked by hand", () => {
  const scores = device.tensor([2, 0.5, -1.5, 0.2, -0.4, 0.3], [2, 3]);
  const labels = device.tensor([0, 2], [2]);
  // Row 0 (label 0): true margin 1 − 2 = −1 → 0; others 1 + 0.5 = 1.5 and 1 − 1.5 = −0.5 → 0.
  // Row 1 (label 2): others 1 + 0.2 = 1.2 and 1 − 0.4 = 0.6; true margin 1 − 0.3 = 0.7.
  // L1 = (1.5 + (1.2 + 0.6 + 0.7)) / 2 = 2.0; L2 = (2.25 + (1.44 + 0.36 + 0.49)) / 2 = 2.27.
  assertClose(multiClassHingeLoss(scores, labels, { p: 1 }).dataSync(), [2.0], { atol: 1e-6 });
  assertClose(multiClassHingeLoss(scores, labels, { p: 2 }).dataSync(), [2.27], { atol: 1e-6 });
  // dL1/ds = −δ/n on active margins: row 0 [0, 0.5, 0], row 1 [0.5, 0.5, −0.5].
  const dy = device.scalar(1);
  assertClose(multiClassHingeGrad(scores, labels, { dy, p: 1 }).dataSync(), [0, 0.5, 0, 0.5, 0.5, -0.5]);
  // dL2/ds = −2δ·margin/n: row 0 [0, 1.5, 0], row 1 [1.2, 0.6, −0.7].
  assertClose(multiClassHingeGrad(scores, labels, { dy, p: 2 }).dataSync(), [0, 1.5, 0, 1.2, 0.6, -0.7]);
});

Deno.test("multiClassHingeLoss() matches a naive float64 loop on random data for p = 1 and 2", () => {
  for (const [n, k] of [[1, 1], [7, 10], [32, 3]]) {
    const s = withKinks(n * k), y = labelsFor(n, k);
    for (const p of [1, 2] as const) {
      const got = multiClassHingeLoss(device.tensor(s, [n, k]), device.tensor(y, [n]), { p }).dataSync();
      assertClose(got, [naiveLoss(s, y, n, k, p)], { rtol: 1e-6, label: `p=${p} [${n}, ${k}]` });
    }
  }
});

Deno.test("multiClassHingeOp and multiClassHingeGradOp: CPU kernels agree with the references, kinks included", () => {
  for (const [n, k] of [[1, 1], [1, 4], [5, 10], [16, 7], [33, 2]]) {
    const labels = { values: labelsFor(n, k), shape: [n] as Shape };
    for (const p of [1, 2] as const) {
      for (const values of [withKinks(n * k), awayFromKinks(n * k)]) {
        const scores = { values, shape: [n, k] as Shape };
        checkAgainstReference(device, multiClassHingeOp, [scores, labels], { p }, { rtol: 1e-6 });
        checkAgainstReference(
          device,
          multiClassHingeGradOp,
          [scores, labels, {
            values: Float32Array.of(-1.7),
            shape: [],
          }],
          { p },
          { atol: 1e-7, rtol: 1e-6 },
        );
      }
    }
  }
});

Deno.test("multiClassHingeGrad() uses the subgradient 0 at the kink", () => {
  // Label 1: its margin 1 − 1 = 0; the others' margins 1 + (−1) = 0.
  const scores = device.tensor([-1, 1, -1], [1, 3]);
  for (const p of [1, 2] as const) {
    const g = multiClassHingeGrad(scores, device.tensor([1], [1]), { dy: device.scalar(1), p });
    assert.deepEqual([...g.dataSync()].map(Math.abs), [0, 0, 0]);
  }
});

Deno.test("multiClassHingeOp: central differences agree with its gradient w.r.t. the scores (away from kinks)", () => {
  for (const [n, k] of [[1, 3], [4, 5], [3, 1]]) {
    const labels = device.tensor(labelsFor(n, k), [n]);
    for (const p of [1, 2] as const) {
      checkGradients(device, (scores) => multiClassHingeLoss(scores, labels, { p }), [
        { values: awayFromKinks(n * k), shape: [n, k] },
      ], { rng, label: `multiClassHinge p=${p} [${n}, ${k}]` });
    }
  }
});

Deno.test("multiClassHingeGradOp: central differences agree with its gradients w.r.t. scores and dy", () => {
  const [n, k] = [3, 4];
  const labels = device.tensor(labelsFor(n, k), [n]);
  for (const p of [1, 2] as const) {
    checkGradients(device, (scores, dy) => multiClassHingeGrad(scores, labels, { dy, p }), [
      { values: awayFromKinks(n * k), shape: [n, k] },
      { values: Float32Array.of(1.3), shape: [] },
    ], { rng, label: `multiClassHingeGrad p=${p}` });
  }
});

Deno.test("multiClassHingeOp: labels get no gradient", () => {
  const scores = device.tensor([1, 2, 3, 4], [2, 2]);
  const labels = device.tensor([0, 1], [2]);
  scores.requiresGrad = true;
  labels.requiresGrad = true;
  assert.throws(() => gradients(multiClassHingeLoss(scores, labels, { p: 1 }), [labels]), /input "labels"/);
});

Deno.test("multiClassHingeOp: a bad label is a RangeError naming the loss in the kernels and the references", () => {
  for (const bad of [3, -1, 1.5, NaN]) {
    const x = new Float32Array(6), y = Float32Array.of(0, bad);
    for (const p of [1, 2] as const) {
      const message = new RegExp(`hingeL${p}.*label ${bad} of example 1.*0\\.\\.2`);
      const scores = device.tensor(x, [2, 3]), labels = device.tensor(y, [2]);
      assert.throws(() => multiClassHingeLoss(scores, labels, { p }), RangeError);
      assert.throws(() => multiClassHingeLoss(scores, labels, { p }), message);
      assert.throws(() => multiClassHingeGrad(scores, labels, { dy: device.scalar(1), p }), message);
      assert.throws(() => multiClassHingeOp.reference([x, y], [[2, 3], [2]], { p }, []), message);
      assert.throws(
        () => multiClassHingeGradOp.reference([x, y, Float32Array.of(1)], [[2, 3], [2], []], { p }, [2, 3]),
        message,
      );
    }
  }
});

Deno.test("multiClassHingeOp: wrong shapes are TypeErrors and a p other than 1 or 2 is a RangeError", () => {
  const x = device.fill([2, 3], 0);
  assert.throws(
    () => multiClassHingeLoss(x, device.fill([3], 0), { p: 1 }),
    /multiClassHinge.*\[2,3\].*\[3\]/,
  );
  assert.throws(
    () => multiClassHingeLoss(device.fill([2, 3, 1], 0), device.fill([2], 0), { p: 1 }),
    TypeError,
  );
  assert.throws(
    () => multiClassHingeGrad(x, device.fill([2], 0), { dy: device.fill([2], 1), p: 2 }),
    /dy must hold one value/,
  );
  assert.throws(() => runOp(multiClassHingeOp, [x], { p: 1 }), TypeError);
  assert.throws(
    () => multiClassHingeLoss(x, device.fill([2], 0), { p: 3 as never }),
    (e) => e instanceof RangeError && /multiClassHinge.*p is 3/.test(e.message),
  );
});
