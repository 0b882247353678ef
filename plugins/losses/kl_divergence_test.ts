import { gradients, Registry, Rng, tidy } from "@cnnlab/core";
import { assertClose, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import losses from "./mod.ts";
import { klDivergence, resolveKlDivergenceOptions } from "./kl_divergence.ts";
import { softmaxCrossEntropy } from "./softmax_cross_entropy.ts";

const registry = new Registry().use(cpu).use(losses);
const device = await registry.device("cpu");
const rng = new Rng(37);

type TfTensor = ReturnType<typeof tf.tensor>;

function logits(n: number, k: number, extreme: boolean): Float32Array {
  const x = uniform(rng, n * k, -4, 4);
  if (extreme) {
    for (let i = 0; i < x.length; i++) {
      if (rng.next() < 0.4) {
        x[i] = rng.next() < 0.5 ? -1000 : 1000;
      }
    }
  }
  return x;
}

function distributions(n: number, k: number, zeros: boolean): Float32Array {
  const p = uniform(rng, n * k, 0.05, 1);
  if (zeros) { for (let i = 0; i < p.length; i++) if (rng.next() < 0.3) p[i] = 0; }
  for (let i = 0; i < n; i++) {
    p[i * k + rng.int(k)] = 0.7;
    let s = 0;
    for (let j = 0; j < k; j++) s += p[i * k + j];
    for (let j = 0; j < k; j++) p[i * k + j] /= s;
  }
  return p;
}

/**
 * TensorFlow.js oracle, composed from its ops (tfjs 4.22 exports no KL metric or loss on `tf.*`):
 * mean over the batch of Σⱼ p·(log p − logSoftmax(x)), with 0·log 0 = 0 via log(max(p, tiny)).
 */
function tfKl(p: TfTensor, x: TfTensor): TfTensor {
  const logp = tf.log(tf.maximum(p, 1e-30));
  return tf.mean(tf.sum(tf.mul(p, tf.sub(logp, tf.logSoftmax(x))), 1));
}

/** Loss, gradient w.r.t. the logits and (for distributions) w.r.t. the targets, through our autograd. */
function ours(loss: ReturnType<typeof klDivergence>, x: Float32Array, t: Float32Array, n: number, k: number) {
  return tidy(() => {
    const xs = device.tensor(x, [n, k]);
    const ts = device.tensor(t, t.length === n ? [n] : [n, k]);
    xs.requiresGrad = true;
    ts.requiresGrad = t.length !== n;
    const l = loss.compute(xs, ts);
    const gs = gradients(l, ts.requiresGrad ? [xs, ts] : [xs]);
    return [l.dataSync().slice(), ...gs.map((g) => g.dataSync().slice())];
  });
}

Deno.test("klDivergence() matches composed TensorFlow.js ops: distributions, loss and both gradients", () => {
  for (const [n, k, extreme] of [[8, 10, false], [8, 10, true], [1, 2, true], [17, 3, false]] as const) {
    for (const eps of [0, 0.15]) {
      const x = logits(n, k, extreme), t = distributions(n, k, false);
      const [value, gx, gt] = ours(klDivergence({ labelSmoothing: eps }), x, t, n, k);
      const [tfValue, tfGx, tfGt] = tf.tidy(() => {
        const f = (xs: TfTensor, ts: TfTensor) => tfKl(tf.add(tf.mul(ts, 1 - eps), eps / k), xs);
        const xs = tf.tensor2d(x, [n, k]), ts = tf.tensor2d(t, [n, k]);
        const [a, b] = tf.grads(f)([xs, ts]);
        return [f(xs, ts).dataSync().slice(), a.dataSync().slice(), b.dataSync().slice()];
      });
      const label = `[${n}, ${k}] extreme=${extreme} ε=${eps}`;
      assertClose(value, tfValue, { atol: 1e-4, rtol: 1e-5, label: `loss ${label}` });
      assertClose(gx, tfGx, { atol: 1e-6, rtol: 1e-4, label: `logit gradient ${label}` });
      assertClose(gt, tfGt, { atol: 1e-5, rtol: 1e-4, label: `target gradient ${label}` });
    }
  }
});

Deno.test("klDivergence() matches composed TensorFlow.js ops: distributions with zeros and smoothed labels", () => {
  const [n, k] = [12, 5];
  const x = logits(n, k, true);
  const withZeros = distributions(n, k, true);
  const labels = Float32Array.from({ length: n }, () => rng.int(k));
  for (const eps of [0, 0.1]) {
    const smoothed = new Float32Array(n * k);
    for (let i = 0; i < n; i++) smoothed[i * k + labels[i]] = 1;
    for (const [t, asRows] of [[withZeros, withZeros], [labels, smoothed]]) {
      const [value, gx] = ours(klDivergence({ labelSmoothing: eps }), x, t, n, k);
      const [tfValue, tfGx] = tf.tidy(() => {
        const p = tf.add(tf.mul(tf.tensor2d(asRows, [n, k]), 1 - eps), eps / k);
        const f = (xs: TfTensor) => tfKl(p, xs);
        const xs = tf.tensor2d(x, [n, k]);
        return [f(xs).dataSync().slice(), tf.grad(f)(xs).dataSync().slice()];
      });
      const label = `${t === labels ? "labels" : "rows with zeros"} ε=${eps}`;
      assertClose(value, tfValue, { atol: 1e-4, rtol: 1e-5, label: `loss ${label}` });
      assertClose(gx, tfGx, { atol: 1e-6, rtol: 1e-4, label: `logit gradient ${label}` });
    }
  }
});

Deno.test("klDivergence() with one-hot targets and ε = 0 equals softmaxCrossEntropy, loss and gradient", () => {
  const [n, k] = [10, 7];
  const x = logits(n, k, true), y = Float32Array.from({ length: n }, () => rng.int(k));
  const onehot = new Float32Array(n * k);
  for (let i = 0; i < n; i++) onehot[i * k + y[i]] = 1;
  const [ce, ceGrad] = tidy(() => {
    const xs = device.tensor(x, [n, k]);
    xs.requiresGrad = true;
    const l = softmaxCrossEntropy({}).compute(xs, device.tensor(y, [n]));
    return [l.dataSync().slice(), gradients(l, [xs])[0].dataSync().slice()];
  });
  for (const t of [y, onehot]) {
    const [value, grad] = ours(klDivergence({}), x, t, n, k);
    assertClose(value, ce, { atol: 1e-4, rtol: 1e-6, label: `loss, targets of length ${t.length}` });
    assertClose(grad, ceGrad, { atol: 1e-7, label: `gradient, targets of length ${t.length}` });
  }
});

Deno.test('klDivergence() is registered under its name with output "scores" and keeps the user\'s options', () => {
  const loss = registry.loss("klDivergence")({});
  assert.equal(loss.name, "klDivergence");
  assert.equal(loss.output, "scores");
  assert.deepEqual(loss.options, {});
  assert.deepEqual(klDivergence({ labelSmoothing: 0.1 }).options, { labelSmoothing: 0.1 });
});

Deno.test("klDivergence().compute() rejects a list and mismatched shapes with a TypeError naming the loss", () => {
  const loss = klDivergence();
  const x = device.fill([2, 3], 0), y = device.fill([2], 0);
  assert.throws(
    () => loss.compute([x, x], y),
    (e) => e instanceof TypeError && /klDivergence.*list/.test(e.message),
  );
  assert.throws(() => loss.compute(device.fill([2, 3, 1, 1], 0), y), /klDivergence.*\[2,3,1,1\].*\[2\]/);
  assert.throws(() => loss.compute(x, device.fill([3], 0)), TypeError);
  assert.throws(() => loss.compute(x, device.fill([2, 4], 0.25)), /klDivergence.*\[2,3\].*\[2,4\]/);
  assert.throws(() => loss.compute(x, device.fill([2, 3, 1], 0)), TypeError);
});

Deno.test("klDivergence().compute() with a bad label or target row is a RangeError naming the loss", () => {
  const loss = klDivergence({ labelSmoothing: 0.1 });
  const x = device.fill([2, 3], 0);
  assert.throws(
    () => loss.compute(x, device.tensor([1, 7], [2])),
    (e) => e instanceof RangeError && /klDivergence/.test(e.message) && /label 7/.test(e.message),
  );
  assert.throws(
    () => loss.compute(x, device.tensor([0.2, 0.2, 0.2, 0, 0, 1], [2, 3])),
    (e) => e instanceof RangeError && /klDivergence.*target row 0.*sums to 0.6/.test(e.message),
  );
});

Deno.test("resolveKlDivergenceOptions() fills the default and rejects unknown options, bad values and non-objects", () => {
  assert.deepEqual(resolveKlDivergenceOptions({}), { labelSmoothing: 0 });
  assert.deepEqual(resolveKlDivergenceOptions({ labelSmoothing: 0.3 }), { labelSmoothing: 0.3 });
  assert.throws(() => klDivergence({ smoothing: 0.1 } as never), /klDivergence.*"smoothing"/);
  for (const bad of [1, -0.1, NaN, "0.1"]) {
    assert.throws(
      () => klDivergence({ labelSmoothing: bad as number }),
      (e) => e instanceof RangeError && /klDivergence.*labelSmoothing/.test(e.message),
    );
  }
  assert.throws(() => resolveKlDivergenceOptions(null as never), TypeError);
});
