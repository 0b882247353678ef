import { gradients, Registry, Rng, runOp, type Shape } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import losses from "./mod.ts";
import {
  softmaxCrossEntropyGrad,
  softmaxCrossEntropyGradOp,
  softmaxCrossEntropyLoss,
  softmaxCrossEntropyOp,
} from "./softmax_cross_entropy_op.ts";

const device = await new Registry().use(cpu).use(losses).device("cpu");
const rng = new Rng(7);

function labelsFor(n: number, k: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.int(k));
}

function logitsWithExtremes(n: number, k: number): Float32Array {
  const x = uniform(rng, n * k, -5, 5);
  for (let i = 0; i < x.length; i += 3) x[i] = rng.next() < 0.5 ? -1000 : 1000;
  return x;
}

/** Naive loss in float64, written from the formula with its own max shift. */
function naiveLoss(x: Float32Array, y: Float32Array, n: number, k: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(x.subarray(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    total += lse - row[y[i]];
  }
  return total / n;
}

const cases: [number, number][] = [[1, 1], [1, 3], [5, 10], [16, 7], [33, 2]];

Deno.test("softmaxCrossEntropyOp: CPU kernel agrees with the reference, large logits included", () => {
  for (const [n, k] of cases) {
    const logits = { values: logitsWithExtremes(n, k), shape: [n, k] as Shape };
    const labels = { values: labelsFor(n, k), shape: [n] as Shape };
    checkAgainstReference(device, softmaxCrossEntropyOp, [logits, labels], {}, { atol: 1e-4, rtol: 1e-5 });
    checkAgainstReference(device, softmaxCrossEntropyOp, [
      { values: uniform(rng, n * k), shape: [n, k] },
      labels,
    ], {});
  }
});

Deno.test("softmaxCrossEntropyGradOp: CPU kernel agrees with the reference, large logits included", () => {
  for (const [n, k] of cases) {
    const logits = { values: logitsWithExtremes(n, k), shape: [n, k] as Shape };
    const labels = { values: labelsFor(n, k), shape: [n] as Shape };
    const dy = { values: Float32Array.of(-1.7), shape: [] as Shape };
    checkAgainstReference(device, softmaxCrossEntropyGradOp, [logits, labels, dy], {}, {
      atol: 1e-7,
      rtol: 1e-5,
    });
    checkAgainstReference(
      device,
      softmaxCrossEntropyGradOp,
      [
        { values: uniform(rng, n * k), shape: [n, k] },
        labels,
        { values: Float32Array.of(0.5), shape: [1] },
      ],
      {},
      { atol: 1e-7, rtol: 1e-5 },
    );
  }
});

Deno.test("softmaxCrossEntropyLoss() matches a naive float64 loop and does not overflow at ±1000", () => {
  const [n, k] = [9, 6];
  const x = logitsWithExtremes(n, k), y = labelsFor(n, k);
  const got = softmaxCrossEntropyLoss(device.tensor(x, [n, k]), device.tensor(y, [n])).dataSync();
  assert.ok(Number.isFinite(got[0]));
  assertClose(got, [naiveLoss(x, y, n, k)], { rtol: 1e-5 });
  // Every logit +1000 except the label's: the loss is about 1000 per such row, exactly representable.
  const big = softmaxCrossEntropyLoss(
    device.tensor([1000, -1000, 1000, -1000], [2, 2]),
    device.tensor([1, 1], [2]),
  );
  assertClose(big.dataSync(), [2000]);
});

Deno.test("softmaxCrossEntropyGrad() equals (softmax − onehot)/n · dy from a naive loop", () => {
  const [n, k] = [4, 5];
  const x = uniform(rng, n * k, -3, 3), y = labelsFor(n, k);
  const got = softmaxCrossEntropyGrad(device.tensor(x, [n, k]), device.tensor(y, [n]), device.scalar(2))
    .dataSync();
  const want = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(x[i * k + j]);
    for (let j = 0; j < k; j++) want[i * k + j] = (Math.exp(x[i * k + j]) / z - (j === y[i] ? 1 : 0)) / n * 2;
  }
  assertClose(got, want, { atol: 1e-7 });
});

Deno.test("softmaxCrossEntropyOp: central differences agree with its gradient w.r.t. the logits", () => {
  for (const [n, k] of [[1, 3], [4, 5], [3, 1]]) {
    const labels = device.tensor(labelsFor(n, k), [n]);
    checkGradients(device, (logits) => softmaxCrossEntropyLoss(logits, labels), [
      { values: uniform(rng, n * k, -2, 2), shape: [n, k] },
    ], { rng, label: `softmaxCrossEntropy [${n}, ${k}]` });
  }
});

Deno.test("softmaxCrossEntropyGradOp: central differences agree with its gradients w.r.t. logits and dy", () => {
  const [n, k] = [3, 4];
  const labels = device.tensor(labelsFor(n, k), [n]);
  checkGradients(device, (logits, dy) => softmaxCrossEntropyGrad(logits, labels, dy), [
    { values: uniform(rng, n * k, -2, 2), shape: [n, k] },
    { values: Float32Array.of(1.3), shape: [] },
  ], { rng, label: "softmaxCrossEntropyGrad" });
});

Deno.test("softmaxCrossEntropyOp: labels get no gradient", () => {
  const logits = device.tensor([1, 2, 3, 4], [2, 2]);
  const labels = device.tensor([0, 1], [2]);
  logits.requiresGrad = true;
  labels.requiresGrad = true;
  assert.throws(() => gradients(softmaxCrossEntropyLoss(logits, labels), [labels]), /input "labels"/);
});

Deno.test("softmaxCrossEntropyOp: a bad label is a RangeError in the kernel and in the reference", () => {
  for (const bad of [3, -1, 1.5, NaN]) {
    const x = new Float32Array(6), y = Float32Array.of(0, bad);
    const message = new RegExp(`softmaxCrossEntropy.*label ${bad} of example 1.*0\\.\\.2`);
    assert.throws(() => softmaxCrossEntropyLoss(device.tensor(x, [2, 3]), device.tensor(y, [2])), RangeError);
    assert.throws(() => softmaxCrossEntropyLoss(device.tensor(x, [2, 3]), device.tensor(y, [2])), message);
    assert.throws(
      () => softmaxCrossEntropyGrad(device.tensor(x, [2, 3]), device.tensor(y, [2]), device.scalar(1)),
      message,
    );
    assert.throws(() => softmaxCrossEntropyOp.reference([x, y], [[2, 3], [2]], {}, []), message);
    assert.throws(
      () => softmaxCrossEntropyGradOp.reference([x, y, Float32Array.of(1)], [[2, 3], [2], []], {}, [2, 3]),
      message,
    );
  }
});

Deno.test("softmaxCrossEntropyOp: wrong shapes are TypeErrors naming the op and the shapes", () => {
  const x = device.fill([2, 3], 0);
  assert.throws(() => softmaxCrossEntropyLoss(x, device.fill([3], 0)), /softmaxCrossEntropy.*\[2,3\].*\[3\]/);
  assert.throws(() => softmaxCrossEntropyLoss(device.fill([2, 3, 1], 0), device.fill([2], 0)), TypeError);
  assert.throws(
    () => softmaxCrossEntropyGrad(x, device.fill([2], 0), device.fill([2], 1)),
    /dy must hold one value/,
  );
  assert.throws(() => runOp(softmaxCrossEntropyOp, [x], {}), TypeError);
});
