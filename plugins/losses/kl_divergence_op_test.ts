import { gradients, ops, Registry, Rng, runOp, type Shape, type Tensor } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import losses from "./mod.ts";
import {
  klDivergenceGrad,
  klDivergenceGradOp,
  klDivergenceLoss,
  klDivergenceOp,
} from "./kl_divergence_op.ts";

const device = await new Registry().use(cpu).use(losses).device("cpu");
const rng = new Rng(31);

function labelsFor(n: number, k: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.int(k));
}

/** Random distributions `[n, k]`; with `zeros`, about a third of the entries are exactly 0. */
function distributions(n: number, k: number, zeros = false): Float32Array {
  const p = uniform(rng, n * k, 0.05, 1);
  if (zeros) { for (let i = 0; i < p.length; i++) if (rng.next() < 0.33) p[i] = 0; }
  for (let i = 0; i < n; i++) {
    if (zeros) p[i * k + rng.int(k)] = 0.5; // at least one positive entry per row
    let s = 0;
    for (let j = 0; j < k; j++) s += p[i * k + j];
    for (let j = 0; j < k; j++) p[i * k + j] /= s;
  }
  return p;
}

function logitsWithExtremes(n: number, k: number): Float32Array {
  const x = uniform(rng, n * k, -5, 5);
  for (let i = 0; i < x.length; i += 3) x[i] = rng.next() < 0.5 ? -1000 : 1000;
  return x;
}

/** Naive KL in float64 from the formula, its own log-softmax and smoothing; `t` is [n] labels or [n, k] rows. */
function naiveKl(x: Float32Array, t: Float32Array, n: number, k: number, eps: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(x.subarray(i * k, (i + 1) * k));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    for (let j = 0; j < k; j++) {
      const raw = t.length === n ? (t[i] === j ? 1 : 0) : t[i * k + j];
      const p = (1 - eps) * raw + eps / k;
      if (p > 0) total += p * (Math.log(p) - (row[j] - lse));
    }
  }
  return total / n;
}

const cases: [number, number][] = [[1, 1], [1, 3], [5, 10], [16, 7], [33, 2]];

Deno.test("klDivergenceOp and klDivergenceGradOp: CPU kernels agree with the references for labels and distributions", () => {
  for (const [n, k] of cases) {
    for (const eps of [0, 0.1]) {
      const targetsList = [
        { values: labelsFor(n, k), shape: [n] as Shape },
        { values: distributions(n, k), shape: [n, k] as Shape },
        { values: distributions(n, k, true), shape: [n, k] as Shape },
      ];
      for (const targets of targetsList) {
        for (const values of [logitsWithExtremes(n, k), uniform(rng, n * k, -2, 2)]) {
          const logits = { values, shape: [n, k] as Shape };
          checkAgainstReference(device, klDivergenceOp, [logits, targets], { labelSmoothing: eps }, {
            atol: 1e-4,
            rtol: 1e-5,
          });
          checkAgainstReference(
            device,
            klDivergenceGradOp,
            [logits, targets, {
              values: Float32Array.of(-1.7),
              shape: [],
            }],
            { labelSmoothing: eps },
            { atol: 1e-7, rtol: 1e-5 },
          );
        }
      }
    }
  }
});

Deno.test("klDivergenceLoss() matches a naive float64 loop for labels, distributions with zeros, and smoothing", () => {
  const [n, k] = [9, 6];
  const x = logitsWithExtremes(n, k);
  for (const t of [labelsFor(n, k), distributions(n, k, true)]) {
    for (const eps of [0, 0.2]) {
      const targets = device.tensor(t, t.length === n ? [n] : [n, k]);
      const got = klDivergenceLoss(device.tensor(x, [n, k]), targets, { labelSmoothing: eps }).dataSync();
      assert.ok(Number.isFinite(got[0]));
      assertClose(got, [naiveKl(x, t, n, k, eps)], {
        rtol: 1e-5,
        label: `targets ${targets.shape} ε=${eps}`,
      });
    }
  }
});

Deno.test("klDivergenceGrad() equals (q − p')/n · dy from a naive loop", () => {
  const [n, k] = [4, 5];
  const x = uniform(rng, n * k, -3, 3), y = labelsFor(n, k), eps = 0.3;
  const got = klDivergenceGrad(device.tensor(x, [n, k]), device.tensor(y, [n]), {
    dy: device.scalar(2),
    labelSmoothing: eps,
  }).dataSync();
  const want = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(x[i * k + j]);
    for (let j = 0; j < k; j++) {
      const p = (1 - eps) * (j === y[i] ? 1 : 0) + eps / k;
      want[i * k + j] = (Math.exp(x[i * k + j]) / z - p) / n * 2;
    }
  }
  assertClose(got, want, { atol: 1e-7 });
});

/** Rows of positive raw values, normalised with primitives so central differences stay on distributions. */
function normalised(raw: Tensor): Tensor {
  return ops.div(raw, ops.sum(raw, { axes: [1], keepDims: true }));
}

Deno.test("klDivergenceOp: central differences agree with its gradients w.r.t. the logits and the target distributions", () => {
  for (const [n, k] of [[1, 3], [4, 5], [3, 1]]) {
    for (const eps of [0, 0.25]) {
      const labels = device.tensor(labelsFor(n, k), [n]);
      checkGradients(device, (logits) => klDivergenceLoss(logits, labels, { labelSmoothing: eps }), [
        { values: uniform(rng, n * k, -2, 2), shape: [n, k] },
      ], { rng, label: `klDivergence labels [${n}, ${k}] ε=${eps}` });
      checkGradients(
        device,
        (logits, raw) => klDivergenceLoss(logits, normalised(raw), { labelSmoothing: eps }),
        [
          { values: uniform(rng, n * k, -2, 2), shape: [n, k] },
          { values: uniform(rng, n * k, 0.5, 1.5), shape: [n, k] },
        ],
        { rng, eps: 1e-3, label: `klDivergence distributions [${n}, ${k}] ε=${eps}` },
      );
    }
  }
});

Deno.test("klDivergenceOp: the target gradient is (log p − log q + 1)/n where p > 0 and 0 where p = 0", () => {
  const x = Float32Array.of(0.3, -1, 2, 0.5), p = Float32Array.of(0.25, 0.75, 1, 0);
  const logits = device.tensor(x, [2, 2]), targets = device.tensor(p, [2, 2]);
  targets.requiresGrad = true;
  const [g] = gradients(klDivergenceLoss(logits, targets, { labelSmoothing: 0 }), [targets]);
  const want: number[] = [];
  for (let i = 0; i < 2; i++) {
    const lse = Math.log(Math.exp(x[2 * i]) + Math.exp(x[2 * i + 1]));
    for (let j = 0; j < 2; j++) {
      const v = p[2 * i + j];
      want.push(v > 0 ? (Math.log(v) - (x[2 * i + j] - lse) + 1) / 2 : 0);
    }
  }
  assertClose(g.dataSync(), want);
});

Deno.test("klDivergenceGradOp: central differences agree with its gradients w.r.t. logits, targets and dy", () => {
  const [n, k] = [3, 4];
  for (const eps of [0, 0.2]) {
    const labels = device.tensor(labelsFor(n, k), [n]);
    checkGradients(device, (logits, dy) => klDivergenceGrad(logits, labels, { dy, labelSmoothing: eps }), [
      { values: uniform(rng, n * k, -2, 2), shape: [n, k] },
      { values: Float32Array.of(1.3), shape: [] },
    ], { rng, label: `klDivergenceGrad labels ε=${eps}` });
    checkGradients(
      device,
      (logits, raw, dy) => klDivergenceGrad(logits, normalised(raw), { dy, labelSmoothing: eps }),
      [
        { values: uniform(rng, n * k, -2, 2), shape: [n, k] },
        { values: uniform(rng, n * k, 0.5, 1.5), shape: [n, k] },
        { values: Float32Array.of(-0.7), shape: [1] },
      ],
      { rng, eps: 1e-3, label: `klDivergenceGrad distributions ε=${eps}` },
    );
  }
});

Deno.test("klDivergenceOp: class-index targets get no gradient", () => {
  const logits = device.tensor([1, 2, 3, 4], [2, 2]);
  const labels = device.tensor([0, 1], [2]);
  labels.requiresGrad = true;
  assert.throws(
    () => gradients(klDivergenceLoss(logits, labels, { labelSmoothing: 0 }), [labels]),
    (e) => e instanceof TypeError && /klDivergence.*class-index targets/.test(e.message),
  );
});

Deno.test("klDivergenceOp: bad labels and bad target rows are RangeErrors naming the loss in kernels and references", () => {
  const x = new Float32Array(6);
  const badTargets: [Float32Array, Shape, RegExp][] = [
    [Float32Array.of(0, 3), [2], /klDivergence.*label 3 of example 1/],
    [Float32Array.of(0, 1.5), [2], /klDivergence.*label 1.5 of example 1/],
    [Float32Array.of(1, 0, 0, 0.5, 0.6, -0.1), [2, 3], /klDivergence.*target row 1 .*entry 2 is -0.1/],
    [Float32Array.of(1, 0, 0, 0.5, 0.4, 0.2), [2, 3], /klDivergence.*target row 1 .*sums to 1.1/],
    [Float32Array.of(0.5, 0.5, 0.002, 0, 1, 0), [2, 3], /klDivergence.*target row 0 .*sums to 1.002/],
    [Float32Array.of(NaN, 0.5, 0.5, 0, 1, 0), [2, 3], /klDivergence.*target row 0 .*entry 0 is NaN/],
  ];
  for (const [t, shape, message] of badTargets) {
    const logits = device.tensor(x, [2, 3]), targets = device.tensor(t, shape);
    for (const eps of [0, 0.1]) {
      assert.throws(() => klDivergenceLoss(logits, targets, { labelSmoothing: eps }), RangeError);
      assert.throws(() => klDivergenceLoss(logits, targets, { labelSmoothing: eps }), message);
      assert.throws(
        () => klDivergenceGrad(logits, targets, { dy: device.scalar(1), labelSmoothing: eps }),
        message,
      );
      assert.throws(
        () => klDivergenceOp.reference([x, t], [[2, 3], shape], { labelSmoothing: eps }, []),
        message,
      );
      assert.throws(
        () =>
          klDivergenceGradOp.reference([x, t, Float32Array.of(1)], [[2, 3], shape, []], {
            labelSmoothing: eps,
          }, [2, 3]),
        message,
      );
    }
  }
  // Within the 1e-3 tolerance is accepted.
  const nearly = device.tensor([0.5, 0.5005, 0, 0, 0, 0.9995], [2, 3]);
  const accepted = klDivergenceLoss(device.tensor(x, [2, 3]), nearly, { labelSmoothing: 0 }).dataSync()[0];
  assert.ok(Number.isFinite(accepted));
});

Deno.test("klDivergenceOp: wrong shapes are TypeErrors and labelSmoothing outside [0, 1) is a RangeError", () => {
  const x = device.fill([2, 3], 0);
  const none = { labelSmoothing: 0 };
  assert.throws(() => klDivergenceLoss(x, device.fill([3], 0), none), /klDivergence.*\[2\].*\[2,3\].*\[3\]/);
  assert.throws(() => klDivergenceLoss(x, device.fill([2, 2], 0.5), none), TypeError);
  assert.throws(() => klDivergenceLoss(device.fill([2, 3, 1], 0), device.fill([2], 0), none), TypeError);
  assert.throws(
    () => klDivergenceGrad(x, device.fill([2], 0), { dy: device.fill([2], 1), labelSmoothing: 0 }),
    /dy must hold one value/,
  );
  assert.throws(() => runOp(klDivergenceOp, [x], none), TypeError);
  for (const eps of [1, -0.1, NaN]) {
    assert.throws(
      () => klDivergenceLoss(x, device.fill([2], 0), { labelSmoothing: eps }),
      (e) => e instanceof RangeError && /klDivergence.*labelSmoothing/.test(e.message),
    );
  }
});
