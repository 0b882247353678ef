import { gradients, Registry, Rng, tidy } from "@cnnlab/core";
import { assertClose, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import losses from "./mod.ts";
import { hingeL1, hingeL2, resolveHingeOptions } from "./hinge.ts";

const registry = new Registry().use(cpu).use(losses);
const device = await registry.device("cpu");
const rng = new Rng(29);

type TfTensor = ReturnType<typeof tf.tensor>;

function randomCase(n: number, k: number) {
  const x = uniform(rng, n * k, -3, 3);
  for (let i = 0; i < x.length; i++) if (Math.abs(Math.abs(x[i]) - 1) < 1e-3) x[i] += 0.01; // no exact kinks
  const y = Float32Array.from({ length: n }, () => rng.int(k));
  const onehot = new Float32Array(n * k);
  for (let i = 0; i < n; i++) onehot[i * k + y[i]] = 1;
  return { x, y, onehot };
}

/** Our loss value and its gradient w.r.t. the scores, through autograd. */
function ours(loss: ReturnType<typeof hingeL1>, x: Float32Array, y: Float32Array, n: number, k: number) {
  return tidy(() => {
    const scores = device.tensor(x, [n, k]);
    scores.requiresGrad = true;
    const l = loss.compute(scores, device.tensor(y, [n]));
    return [l.dataSync().slice(), gradients(l, [scores])[0].dataSync().slice()];
  });
}

/** TensorFlow.js value and gradient of `f`, both multiplied by k (tf averages over all n·k elements). */
function theirs(
  f: (labels: TfTensor, s: TfTensor) => TfTensor,
  x: Float32Array,
  onehot: Float32Array,
  n: number,
  k: number,
) {
  return tf.tidy(() => {
    const labels = tf.tensor2d(onehot, [n, k]);
    const g = (s: TfTensor) => tf.mul(f(labels, s), k);
    const s = tf.tensor2d(x, [n, k]);
    return [g(s).dataSync().slice(), tf.grad(g)(s).dataSync().slice()];
  });
}

Deno.test("hingeL1() equals k · tf.losses.hingeLoss with one-hot labels, loss and gradient", () => {
  for (const [n, k] of [[8, 10], [1, 2], [17, 3]]) {
    const { x, y, onehot } = randomCase(n, k);
    const [value, grad] = ours(hingeL1({}), x, y, n, k);
    const [tfValue, tfGrad] = theirs((labels, s) => tf.losses.hingeLoss(labels, s), x, onehot, n, k);
    assertClose(value, tfValue, { rtol: 1e-5, label: `loss [${n}, ${k}]` });
    assertClose(grad, tfGrad, { atol: 1e-6, rtol: 1e-5, label: `gradient [${n}, ${k}]` });
  }
});

Deno.test("hingeL2() equals k · mean(square(relu(1 − (2y − 1)·s))) in TensorFlow.js, loss and gradient", () => {
  const squaredHinge = (labels: TfTensor, s: TfTensor) =>
    tf.mean(tf.square(tf.relu(tf.sub(1, tf.mul(tf.sub(tf.mul(2, labels), 1), s)))));
  for (const [n, k] of [[8, 10], [1, 2], [17, 3]]) {
    const { x, y, onehot } = randomCase(n, k);
    const [value, grad] = ours(hingeL2({}), x, y, n, k);
    const [tfValue, tfGrad] = theirs(squaredHinge, x, onehot, n, k);
    assertClose(value, tfValue, { rtol: 1e-5, label: `loss [${n}, ${k}]` });
    assertClose(grad, tfGrad, { atol: 1e-6, rtol: 1e-5, label: `gradient [${n}, ${k}]` });
  }
});

Deno.test('hingeL1() and hingeL2() are registered under their names with output "scores"', () => {
  for (const name of ["hingeL1", "hingeL2"]) {
    const loss = registry.loss(name)({});
    assert.equal(loss.name, name);
    assert.equal(loss.output, "scores");
    assert.deepEqual(loss.options, {});
  }
});

Deno.test("hingeL1().compute() rejects a list, wrong ranks and mismatched batches with a TypeError", () => {
  for (const loss of [hingeL1(), hingeL2()]) {
    const x = device.fill([2, 3], 0), y = device.fill([2], 0);
    assert.throws(
      () => loss.compute([x, x], y),
      (e) => e instanceof TypeError && new RegExp(`${loss.name}.*list`).test(e.message),
    );
    assert.throws(() => loss.compute(device.fill([2, 3, 1, 1], 0), y), /hingeL.*\[2,3,1,1\].*\[2\]/);
    assert.throws(() => loss.compute(x, device.fill([3], 0)), TypeError);
    assert.throws(() => loss.compute(x, device.fill([2, 3], 0)), TypeError);
  }
});

Deno.test("hingeL2().compute() with an out-of-range label is a RangeError naming the loss and label", () => {
  assert.throws(
    () => hingeL2().compute(device.fill([2, 3], 0), device.tensor([1, 7], [2])),
    (e) => e instanceof RangeError && /hingeL2/.test(e.message) && /label 7/.test(e.message),
  );
  assert.throws(
    () => hingeL1().compute(device.fill([2, 3], 0), device.tensor([0.5, 1], [2])),
    (e) => e instanceof RangeError && /hingeL1/.test(e.message) && /label 0.5/.test(e.message),
  );
});

Deno.test("resolveHingeOptions() rejects unknown options and non-objects", () => {
  assert.throws(() => hingeL1({ margin: 2 } as never), /hingeL1.*"margin"/);
  assert.throws(() => hingeL2({ margin: 2 } as never), /hingeL2.*"margin"/);
  assert.throws(() => resolveHingeOptions("hingeL1", null as never), TypeError);
});
