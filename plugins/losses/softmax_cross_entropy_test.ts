import { gradients, Registry, Rng, tidy } from "@cnnlab/core";
import { assertClose, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import losses from "./mod.ts";
import { resolveSoftmaxCrossEntropyOptions, softmaxCrossEntropy } from "./softmax_cross_entropy.ts";

const registry = new Registry().use(cpu).use(losses);
const device = await registry.device("cpu");
const rng = new Rng(11);

function randomCase(n: number, k: number, extreme: boolean) {
  const x = uniform(rng, n * k, -4, 4);
  if (extreme) {
    for (let i = 0; i < x.length; i++) {
      if (rng.next() < 0.4) {
        x[i] = rng.next() < 0.5 ? -1000 : 1000;
      }
    }
  }
  const y = Float32Array.from({ length: n }, () => rng.int(k));
  const onehot = new Float32Array(n * k);
  for (let i = 0; i < n; i++) onehot[i * k + y[i]] = 1;
  return { x, y, onehot };
}

Deno.test("softmaxCrossEntropy() loss and gradient match tf.losses.softmaxCrossEntropy, ±1000 logits included", () => {
  const loss = softmaxCrossEntropy({});
  for (const [n, k, extreme] of [[8, 10, false], [8, 10, true], [1, 2, true], [17, 3, true]] as const) {
    const { x, y, onehot } = randomCase(n, k, extreme);
    const [value, grad] = tidy(() => {
      const logits = device.tensor(x, [n, k]);
      logits.requiresGrad = true;
      const l = loss.compute(logits, device.tensor(y, [n]));
      return [l.dataSync().slice(), gradients(l, [logits])[0].dataSync().slice()];
    });
    const [tfValue, tfGrad] = tf.tidy(() => {
      const labels = tf.tensor2d(onehot, [n, k]);
      const f = (logits: ReturnType<typeof tf.tensor>) => tf.losses.softmaxCrossEntropy(labels, logits);
      const logits = tf.tensor2d(x, [n, k]);
      return [f(logits).dataSync().slice(), tf.grad(f)(logits).dataSync().slice()];
    });
    assert.ok(Number.isFinite(value[0]), `loss is finite for [${n}, ${k}]`);
    assertClose(value, tfValue, { atol: 1e-4, rtol: 1e-5, label: `loss [${n}, ${k}] extreme=${extreme}` });
    assertClose(grad, tfGrad, { atol: 1e-6, rtol: 1e-4, label: `gradient [${n}, ${k}] extreme=${extreme}` });
  }
});

Deno.test('softmaxCrossEntropy() is registered under its name with output "scores"', () => {
  const loss = registry.loss("softmaxCrossEntropy")({});
  assert.equal(loss.name, "softmaxCrossEntropy");
  assert.equal(loss.output, "scores");
  assert.deepEqual(loss.options, {});
});

Deno.test("softmaxCrossEntropy().compute() rejects a list, wrong ranks and mismatched batches with a TypeError", () => {
  const loss = softmaxCrossEntropy();
  const x = device.fill([2, 3], 0), y = device.fill([2], 0);
  assert.throws(
    () => loss.compute([x, x], y),
    (e) => e instanceof TypeError && /softmaxCrossEntropy.*list/.test(e.message),
  );
  assert.throws(
    () => loss.compute(device.fill([2, 3, 1, 1], 0), y),
    /softmaxCrossEntropy.*\[2,3,1,1\].*\[2\]/,
  );
  assert.throws(() => loss.compute(x, device.fill([3], 0)), TypeError);
  assert.throws(() => loss.compute(x, device.fill([2, 1], 0)), TypeError);
});

Deno.test("softmaxCrossEntropy().compute() with an out-of-range label is a RangeError naming the loss and label", () => {
  const loss = softmaxCrossEntropy();
  assert.throws(
    () => loss.compute(device.fill([2, 3], 0), device.tensor([1, 7], [2])),
    (e) => e instanceof RangeError && /softmaxCrossEntropy/.test(e.message) && /label 7/.test(e.message),
  );
});

Deno.test("resolveSoftmaxCrossEntropyOptions() rejects unknown options and non-objects", () => {
  assert.throws(() => softmaxCrossEntropy({ smoothing: 0.1 } as never), /softmaxCrossEntropy.*"smoothing"/);
  assert.throws(() => resolveSoftmaxCrossEntropyOptions(null as never), TypeError);
});
