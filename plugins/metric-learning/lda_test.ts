import { definePlugin, gradients, liveTensors, noGrad, Registry, Rng, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, checkGradients } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import { adam } from "@cnnlab/optimizers";
import assert from "node:assert/strict";
import { generalizedEigenvalues } from "./generalized_eigen.ts";
import { lda, ldaKernels, ldaOps, ldaScatter, resolveLdaOptions } from "./lda.ts";

const registry = new Registry().use(cpu).use(definePlugin({
  name: "@test/lda",
  version: "0.0.0",
  provides: { losses: { lda }, ops: ldaOps },
  kernels: ldaKernels,
}));
const device = await registry.device("cpu");
const rng = new Rng(5);

/** Embeddings of `counts[c]` examples per class around separated centres, with their labels. */
function clusters(classIds: readonly number[], counts: readonly number[], d: number, spread = 3, noise = 1) {
  const h: number[] = [], labels: number[] = [];
  classIds.forEach((c, j) => {
    const centre = Array.from({ length: d }, (_, k) => spread * Math.cos(2.1 * j + 1.3 * k + 0.4));
    for (let i = 0; i < counts[j]; i++) {
      for (let k = 0; k < d; k++) h.push(centre[k] + noise * (rng.next() * 2 - 1));
      labels.push(c);
    }
  });
  return { h: Float32Array.from(h), labels: Float32Array.from(labels), n: labels.length };
}

/** S_w (regularised) and S_b from the formulas, in float64 loops. */
function naiveScatter(h: Float32Array, labels: Float32Array, d: number, r: number) {
  const n = labels.length;
  const classes = [...new Set(labels)];
  const sw = new Float64Array(d * d), st = new Float64Array(d * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k] += h[i * d + k] / n;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        st[a * d + b] += (h[i * d + a] - mean[a]) * (h[i * d + b] - mean[b]) / (n - 1);
      }
    }
  }
  for (const c of classes) {
    const rows = [...labels.keys()].filter((i) => labels[i] === c);
    const mc = new Float64Array(d);
    for (const i of rows) for (let k = 0; k < d; k++) mc[k] += h[i * d + k] / rows.length;
    for (const i of rows) {
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          sw[a * d + b] += (h[i * d + a] - mc[a]) * (h[i * d + b] - mc[b]) / (rows.length - 1) /
            classes.length;
        }
      }
    }
  }
  const sb = st.map((v, i) => v - sw[i]);
  for (let k = 0; k < d; k++) sw[k * d + k] += r;
  return { sb, sw };
}

function ctx(labels: Float32Array) {
  return { training: true, rng: new Rng(0), labels };
}

function lossValue(h: Float32Array, labels: Float32Array, d: number, options = {}): number {
  return noGrad(() =>
    tidy(() =>
      lda(options).compute(
        device.tensor(h, [labels.length, d]),
        device.tensor(labels, [labels.length]),
        ctx(labels),
      ).dataSync()[0]
    )
  );
}

Deno.test("ldaScatter() equals the scatter formulas for unbalanced classes with gaps in their ids", () => {
  const d = 3;
  const { h, labels, n } = clusters([1, 4, 7], [3, 4, 5], d);
  const got = tidy(() => {
    const s = ldaScatter(device.tensor(h, [n, d]), labels, { regularization: 0.01 });
    return { sb: [...s.sb.dataSync()], sw: [...s.sw.dataSync()], classes: s.classes };
  });
  const expected = naiveScatter(h, labels, d, 0.01);
  assertClose(got.sw, expected.sw, { atol: 1e-5, rtol: 1e-4, label: "S_w" });
  assertClose(got.sb, expected.sb, { atol: 1e-4, rtol: 1e-4, label: "S_b" });
  assert.deepEqual(got.classes, [1, 4, 7]);
});

Deno.test("lda() with d < C − 1 averages all d eigenvalues: −trace(S_w⁻¹ S_b)/d", () => {
  const d = 2;
  const { h, labels } = clusters([0, 1, 2, 3], [3, 3, 4, 3], d);
  const { sb, sw } = naiveScatter(h, labels, d, 1e-3);
  // 2×2 inverse by the adjugate.
  const detW = sw[0] * sw[3] - sw[1] * sw[2];
  const inv = [sw[3] / detW, -sw[1] / detW, -sw[2] / detW, sw[0] / detW];
  const trace = inv[0] * sb[0] + inv[1] * sb[2] + inv[2] * sb[1] + inv[3] * sb[3];
  assertClose([lossValue(h, labels, d, { k: 2 })], [-trace / 2], { rtol: 1e-4 });
  // The default k is round(m / 3) = 1 of the m = 2 here: the smaller root only.
  assert.ok(lossValue(h, labels, d) > -trace / 2);
});

Deno.test("lda() is minus the mean of the k smallest of the C − 1 largest roots of det(S_b − λ S_w)", () => {
  const d = 4;
  const { h, labels } = clusters([0, 1, 2], [4, 5, 4], d);
  const { sb, sw } = naiveScatter(h, labels, d, 1e-3);
  // Roots by sign changes of the characteristic polynomial on a grid, then bisection.
  const det = (m: number[]) => {
    const a = m.slice();
    let r = 1;
    for (let c = 0; c < d; c++) {
      let p = c;
      for (let i = c + 1; i < d; i++) if (Math.abs(a[i * d + c]) > Math.abs(a[p * d + c])) p = i;
      if (p !== c) {
        for (let k = 0; k < d; k++) [a[c * d + k], a[p * d + k]] = [a[p * d + k], a[c * d + k]];
        r = -r;
      }
      r *= a[c * d + c];
      for (let i = c + 1; i < d; i++) {
        const f = a[i * d + c] / a[c * d + c];
        for (let k = c; k < d; k++) a[i * d + k] -= f * a[c * d + k];
      }
    }
    return r;
  };
  const p = (l: number) => det(Array.from(sb, (v, i) => v - l * sw[i]));
  const roots: number[] = [];
  const bound = 200, steps = 40000;
  for (let s = 0; s < steps; s++) {
    let lo = -bound + (2 * bound * s) / steps, hi = lo + (2 * bound) / steps;
    if (p(lo) * p(hi) >= 0) continue;
    for (let it = 0; it < 80; it++) {
      const mid = 0.5 * (lo + hi);
      if (p(mid) * p(lo) <= 0) hi = mid;
      else lo = mid;
    }
    roots.push(0.5 * (lo + hi));
  }
  assert.equal(roots.length, d);
  const [, , second, largest] = roots;
  assertClose([lossValue(h, labels, d, { k: 2 })], [-(second + largest) / 2], { rtol: 1e-4 });
  assertClose([lossValue(h, labels, d, { k: 1 })], [-second], { rtol: 1e-4 });
  assertClose([lossValue(h, labels, d)], [-second], { rtol: 1e-4, label: "default k = round(2 / 3) = 1" });
  assertClose([lossValue(h, labels, d, { k: 5 })], [-(second + largest) / 2], {
    rtol: 1e-4,
    label: "k capped",
  });
});

Deno.test("lda() gradient with respect to the embeddings matches central differences (n = 9, d = 3, C = 3)", () => {
  const d = 3;
  const { h, labels, n } = clusters([0, 1, 2], [3, 3, 3], d, 2, 1);
  const y = device.tensor(labels, [n]);
  for (const options of [{}, { k: 2 }]) {
    checkGradients(device, (x) => lda(options).compute(x, y, ctx(labels)), [{ values: h, shape: [n, d] }], {
      rng,
      eps: 1e-3,
      label: `lda ${JSON.stringify(options)}`,
    });
  }
});

Deno.test("lda() reads the labels from the targets when the context has none", () => {
  const d = 3;
  const { h, labels, n } = clusters([0, 1, 2], [3, 4, 3], d);
  const fromTargets = tidy(() =>
    lda({}).compute(device.tensor(h, [n, d]), device.tensor(labels, [n])).dataSync()[0]
  );
  assertClose([fromTargets], [lossValue(h, labels, d)]);
});

Deno.test("lda() with a class of one example names the loss, the class and the fix", () => {
  const d = 3;
  const { h, labels, n } = clusters([2, 7, 9], [3, 1, 2], d);
  assert.throws(
    () => lda({}).compute(device.tensor(h, [n, d]), device.tensor(labels, [n]), ctx(labels)),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot compute lda loss: class 7 has 1 example in this batch; use batches with at least 2 examples per class (a larger --batch-size)",
  );
});

Deno.test("lda() with one class, NaN embeddings or mismatched labels throws instead of returning NaN", () => {
  const d = 2;
  const { h, labels, n } = clusters([3], [5], d);
  assert.throws(
    () => lda({}).compute(device.tensor(h, [n, d]), device.tensor(labels, [n]), ctx(labels)),
    /lda loss: the batch holds only class 3/,
  );
  const two = clusters([0, 1], [3, 3], d);
  const bad = two.h.slice();
  bad[7] = NaN;
  assert.throws(
    () => lda({}).compute(device.tensor(bad, [6, d]), device.tensor(two.labels, [6]), ctx(two.labels)),
    (e: Error) => e instanceof RangeError && /lda loss: embedding 3 holds NaN/.test(e.message),
  );
  assert.throws(
    () => lda({}).compute(device.tensor(two.h, [6, d]), device.zeros([5]), ctx(two.labels.subarray(0, 5))),
    TypeError,
  );
  assert.throws(
    () => lda({}).compute(device.tensor(two.h, [12]), device.zeros([6])),
    /lda loss: embeddings must be \[batch, dim\]/,
  );
  const frac = two.labels.slice();
  frac[0] = 0.5;
  assert.throws(
    () => lda({}).compute(device.tensor(two.h, [6, d]), device.zeros([6]), ctx(frac)),
    /label 0.5 of example 0/,
  );
});

Deno.test("lda() with a singular S_w and no regularization says to raise it", () => {
  // d = 3 but only n − C = 2 within-class degrees of freedom: S_w has rank 2.
  const { h, labels, n } = clusters([0, 1], [2, 2], 3);
  assert.throws(
    () =>
      lda({ regularization: 0 }).compute(device.tensor(h, [n, 3]), device.tensor(labels, [n]), ctx(labels)),
    /generalizedEigenvalues.*regularization/,
  );
  assert.ok(Number.isFinite(lossValue(h, labels, 3)));
});

Deno.test("resolveLdaOptions() rejects unknown options and out-of-range values, naming the loss", () => {
  assert.deepEqual(resolveLdaOptions({ k: 3, regularization: 0 }), { k: 3, regularization: 0 });
  for (const bad of [{ k: 0 }, { k: 1.5 }, { regularization: -1 }, { regularization: NaN }, { margin: 1 }]) {
    assert.throws(
      () => lda(bad as never),
      (e: Error) => e instanceof RangeError && /loss lda/.test(e.message),
    );
  }
  assert.throws(() => lda(null as never), TypeError);
  const loss = registry.loss("lda")({ k: 2 });
  assert.equal(loss.output, "embedding");
  assert.equal(loss.name, "lda");
});

Deno.test("lda({ k: 1 }) trained with Adam on free embeddings raises the smallest non-trivial eigenvalue", () => {
  const d = 3;
  const { h, labels, n } = clusters([0, 1, 2, 3], [8, 8, 8, 8], d, 0.6, 1);
  const x = device.tensor(h, [n, d]);
  x.requiresGrad = true;
  const y = device.tensor(labels, [n]);
  const smallestNonTrivial = () =>
    noGrad(() =>
      tidy(() => {
        const { sb, sw } = ldaScatter(x, labels, { regularization: 1e-3 });
        return generalizedEigenvalues(sb, sw).dataSync()[0]; // d = C − 1: all three are non-trivial
      })
    );
  const before = smallestNonTrivial();
  const optimizer = adam({ lr: 0.05 });
  const live = liveTensors();
  for (let step = 0; step < 30; step++) {
    tidy(() => {
      // k = 1: with the mean over all, Adam mostly grows the largest eigenvalue (documented on lda()).
      const loss: Tensor = lda({ k: 1 }).compute(x, y, ctx(labels));
      const [g] = gradients(loss, [x]);
      noGrad(() => optimizer.step(new Map([["h", x]]), new Map([["h", g]])));
    });
  }
  const after = smallestNonTrivial();
  assert.ok(after > 2 * before && after > 1, `smallest non-trivial eigenvalue ${before} → ${after}`);
  // Adam's two moment slots are the only tensors that outlive the steps.
  assert.equal(liveTensors(), live + 2);
});
