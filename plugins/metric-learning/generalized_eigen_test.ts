import { definePlugin, gradients, ops, Registry, Rng, type Shape, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import {
  generalizedEigenvalues,
  generalizedEigenvaluesGrad,
  generalizedEigenvaluesGradOp,
  generalizedEigenvaluesOp,
} from "./generalized_eigen.ts";
import { solveGeneralizedEigen } from "./generalized_eigen_solver.ts";
import { lda, ldaKernels, ldaOps } from "./lda.ts";

const device = await new Registry().use(cpu).use(definePlugin({
  name: "@test/lda",
  version: "0.0.0",
  provides: { losses: { lda }, ops: ldaOps },
  kernels: ldaKernels,
})).device("cpu");
const rng = new Rng(11);

// ---- independent oracles, written here from the definitions ----

/** Row-major product of d×d matrices in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, d: number, transposeB = false): Float64Array {
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k] * (transposeB ? b[j * d + k] : b[k * d + j]);
      c[i * d + j] = s;
    }
  }
  return c;
}

/** Determinant by Gaussian elimination with partial pivoting. */
function det(m: ArrayLike<number>, d: number): number {
  const a = Array.from(m);
  let result = 1;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r * d + c]) > Math.abs(a[p * d + c])) p = r;
    if (a[p * d + c] === 0) return 0;
    if (p !== c) {
      for (let k = 0; k < d; k++) [a[c * d + k], a[p * d + k]] = [a[p * d + k], a[c * d + k]];
      result = -result;
    }
    result *= a[c * d + c];
    for (let r = c + 1; r < d; r++) {
      const f = a[r * d + c] / a[c * d + c];
      for (let k = c; k < d; k++) a[r * d + k] -= f * a[c * d + k];
    }
  }
  return result;
}

/**
 * Roots of the characteristic polynomial p(λ) = det(S_b − λ S_w), ascending: sign changes on a fine
 * grid over [−bound, bound], refined by bisection. Needs well-separated roots.
 */
function characteristicRoots(sb: ArrayLike<number>, sw: ArrayLike<number>, d: number, bound: number) {
  const p = (l: number) => det(Array.from(sb, (v, i) => v - l * sw[i]), d);
  const roots: number[] = [];
  const steps = 20000;
  let x0 = -bound, p0 = p(x0);
  for (let s = 1; s <= steps; s++) {
    const x1 = -bound + (2 * bound * s) / steps, p1 = p(x1);
    if (p0 === 0) roots.push(x0);
    else if (p0 * p1 < 0) {
      let lo = x0, hi = x1, plo = p0;
      for (let it = 0; it < 100; it++) {
        const mid = 0.5 * (lo + hi), pm = p(mid);
        if (pm * plo <= 0) hi = mid;
        else [lo, plo] = [mid, pm];
      }
      roots.push(0.5 * (lo + hi));
    }
    [x0, p0] = [x1, p1];
  }
  return roots;
}

/**
 * Eigenvalues of S_w⁻¹ S_b by shifted power iteration with deflation (S_w⁻¹ by Gauss-Jordan, not
 * Cholesky), largest first, returned ascending.
 */
function powerIterationEigenvalues(sb: ArrayLike<number>, sw: ArrayLike<number>, d: number): number[] {
  const inv = gaussJordanInverse(sw, d);
  const a = matmul(inv, sb, d);
  let shift = 0;
  for (let i = 0; i < d * d; i++) shift += Math.abs(a[i]);
  // B = A + shift·I has positive eigenvalues λ + shift, ordered like λ.
  for (let i = 0; i < d; i++) a[i * d + i] += shift;
  const found: number[] = [];
  for (let e = 0; e < d; e++) {
    let v = Array.from({ length: d }, () => rng.next() + 0.5);
    let mu = 0;
    for (let it = 0; it < 20000; it++) {
      const w = Array.from({ length: d }, (_, i) => v.reduce((s, vk, k) => s + a[i * d + k] * vk, 0));
      const norm = Math.hypot(...w);
      const next = w.map((x) => x / norm);
      const done = Math.abs(norm - mu) < 1e-14 * norm;
      mu = norm;
      v = next;
      if (done) break;
    }
    found.push(mu - shift);
    // Deflate with the S_w-orthogonality of eigenvectors: B ← B − μ v (S_w v)ᵀ / (vᵀ S_w v).
    const swv = Array.from({ length: d }, (_, i) => v.reduce((s, vk, k) => s + sw[i * d + k] * vk, 0));
    const vSwv = v.reduce((s, vi, i) => s + vi * swv[i], 0);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] -= (mu * v[i] * swv[j]) / vSwv;
  }
  return found.sort((x, y) => x - y);
}

function gaussJordanInverse(m: ArrayLike<number>, d: number): Float64Array {
  const a = Array.from(m), inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) inv[i * d + i] = 1;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r * d + c]) > Math.abs(a[p * d + c])) p = r;
    for (let k = 0; k < d; k++) {
      [a[c * d + k], a[p * d + k]] = [a[p * d + k], a[c * d + k]];
      [inv[c * d + k], inv[p * d + k]] = [inv[p * d + k], inv[c * d + k]];
    }
    const piv = a[c * d + c];
    for (let k = 0; k < d; k++) {
      a[c * d + k] /= piv;
      inv[c * d + k] /= piv;
    }
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r * d + c];
      for (let k = 0; k < d; k++) {
        a[r * d + k] -= f * a[c * d + k];
        inv[r * d + k] -= f * inv[c * d + k];
      }
    }
  }
  return inv;
}

/** A random symmetric positive definite matrix A Aᵀ + I, rounded to float32. */
function randomSpd(d: number): Float32Array {
  const a = uniform(rng, d * d);
  const s = matmul(a, a, d, true);
  for (let i = 0; i < d; i++) s[i * d + i] += 1;
  return Float32Array.from(s);
}

/** A random symmetric matrix, rounded to float32. */
function randomSymmetric(d: number, scale = 2): Float32Array {
  const a = uniform(rng, d * d, -scale, scale);
  return Float32Array.from(a, (_, k) => 0.5 * (a[k] + a[(k % d) * d + Math.floor(k / d)]));
}

/** Q Λ Qᵀ and Q Qᵀ for a random well-conditioned Q: the generalized eigenvalues are Λ exactly. */
function withKnownEigenvalues(lambda: readonly number[]) {
  const d = lambda.length;
  const q = uniform(rng, d * d, -0.3, 0.3);
  for (let i = 0; i < d; i++) q[i * d + i] += 1;
  const ql = Float64Array.from(q, (v, k) => v * lambda[k % d]);
  return { sb: Float32Array.from(matmul(ql, q, d, true)), sw: Float32Array.from(matmul(q, q, d, true)) };
}

const values = (t: Tensor) => [...t.dataSync()];

// ---- tests ----

Deno.test("generalizedEigenvalues() recovers the eigenvalues of S_b = Q Λ Qᵀ, S_w = Q Qᵀ, ascending", () => {
  const lambda = [3.5, -1.25, 0.5, 2, 7];
  const { sb, sw } = withKnownEigenvalues(lambda);
  const got = tidy(() =>
    values(generalizedEigenvalues(device.tensor(sb, [5, 5]), device.tensor(sw, [5, 5])))
  );
  assertClose(got, [...lambda].sort((a, b) => a - b), { atol: 1e-4, rtol: 1e-4 });
});

Deno.test("generalizedEigenvalues() equals the roots of det(S_b − λ S_w) for 2×2 and 3×3", () => {
  for (const d of [2, 3]) {
    for (let trial = 0; trial < 4; trial++) {
      const sb = randomSymmetric(d), sw = randomSpd(d);
      const got = tidy(() =>
        values(generalizedEigenvalues(device.tensor(sb, [d, d]), device.tensor(sw, [d, d])))
      );
      const roots = characteristicRoots(sb, sw, d, 50);
      assert.equal(roots.length, d, `d=${d}: ${roots.length} roots found`);
      assertClose(got, roots, { atol: 1e-5, rtol: 1e-5, label: `d=${d}` });
    }
  }
});

Deno.test("generalizedEigenvalues() equals power iteration with deflation on S_w⁻¹ S_b for 6×6", () => {
  const { sb, sw } = withKnownEigenvalues([-2, -0.5, 0.7, 1.9, 3.3, 6]);
  const got = tidy(() =>
    values(generalizedEigenvalues(device.tensor(sb, [6, 6]), device.tensor(sw, [6, 6])))
  );
  assertClose(got, powerIterationEigenvalues(sb, sw, 6), { atol: 1e-4, rtol: 1e-4 });
});

Deno.test("solveGeneralizedEigen() returns vectors with S_b v = λ S_w v and Vᵀ S_w V = I", () => {
  const d = 7;
  const sb = randomSymmetric(d, 5), sw = randomSpd(d);
  const { values: lambda, vectors: v } = solveGeneralizedEigen(sb, sw);
  for (let i = 1; i < d; i++) assert.ok(lambda[i - 1] <= lambda[i], "ascending");
  const sbv = matmul(sb, v, d), swv = matmul(sw, v, d);
  for (let c = 0; c < d; c++) {
    for (let r = 0; r < d; r++) {
      const residual = sbv[r * d + c] - lambda[c] * swv[r * d + c];
      assert.ok(Math.abs(residual) < 1e-10, `residual ${residual} for eigenpair ${c}`);
    }
  }
  // Vᵀ (S_w V) = I: vᵢᵀ S_w vᵢ = 1 and S_w-orthogonal eigenvectors.
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += v[k * d + i] * swv[k * d + j];
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-10, `vᵀ S_w v [${i}, ${j}] = ${s}`);
    }
  }
});

Deno.test("generalizedEigenvaluesOp: CPU kernel agrees with the reference", () => {
  for (const d of [1, 3, 8]) {
    const sb = { values: randomSymmetric(d), shape: [d, d] as Shape };
    const sw = { values: randomSpd(d), shape: [d, d] as Shape };
    checkAgainstReference(device, generalizedEigenvaluesOp, [sb, sw], {}, { atol: 1e-6, rtol: 1e-6 });
    const w = { values: uniform(rng, d), shape: [d] as Shape };
    checkAgainstReference(device, generalizedEigenvaluesGradOp, [sb, sw, w], {}, { atol: 1e-6, rtol: 1e-6 });
  }
});

Deno.test("generalizedEigenvalues() gradients match central differences for S_b and S_w", () => {
  const { sb, sw } = withKnownEigenvalues([-1, 0.5, 2, 4]);
  // The op reads only the symmetric parts, so element-wise (unsymmetric) perturbations are valid.
  checkGradients(device, (b, w) => generalizedEigenvalues(b, w), [
    { values: sb, shape: [4, 4] },
    { values: sw, shape: [4, 4] },
  ], { rng, eps: 1e-3 });
});

Deno.test("generalizedEigenvalues() gradients match central differences through S_b = (A + Aᵀ)/2, S_w = B Bᵀ + I", () => {
  const d = 3;
  const { sb } = withKnownEigenvalues([-1, 1, 3]);
  const b = Float32Array.from(
    { length: d * d },
    (_, k) => (k % (d + 1) === 0 ? 1 : 0) + 0.2 * (rng.next() - 0.5),
  );
  checkGradients(
    device,
    (a, bb) => {
      const sym = ops.scale(ops.add(a, ops.transpose(a, { perm: [1, 0] })), 0.5);
      const spd = ops.add(
        ops.matmul(bb, bb, { transposeB: true }),
        device.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]),
      );
      return generalizedEigenvalues(sym, spd);
    },
    [{ values: sb, shape: [d, d] }, { values: b, shape: [d, d] }],
    { rng, eps: 1e-3 },
  );
});

Deno.test("generalizedEigenvaluesGrad() equals vᵢvᵢᵀ for one eigenvalue and −λᵢvᵢvᵢᵀ through S_w", () => {
  const d = 3;
  const sb = randomSymmetric(d), sw = randomSpd(d);
  const { values: lambda, vectors: v } = solveGeneralizedEigen(sb, sw);
  for (let i = 0; i < d; i++) {
    const onehot = Float32Array.from({ length: d }, (_, k) => (k === i ? 1 : 0));
    const expected = Array.from(
      { length: d * d },
      (_, k) => v[Math.floor(k / d) * d + i] * v[(k % d) * d + i],
    );
    const got = tidy(() =>
      values(
        generalizedEigenvaluesGrad(
          device.tensor(sb, [d, d]),
          device.tensor(sw, [d, d]),
          device.tensor(onehot, [d]),
        ),
      )
    );
    assertClose(got, expected, { atol: 1e-6, rtol: 1e-5 });
    const dsw = tidy(() => {
      const b = device.tensor(sb, [d, d]), w = device.tensor(sw, [d, d]);
      b.requiresGrad = w.requiresGrad = true;
      const lam = generalizedEigenvalues(b, w);
      return values(gradients(ops.sum(ops.mul(lam, device.tensor(onehot, [d]))), [w])[0]);
    });
    assertClose(dsw, expected.map((e) => -lambda[i] * e), { atol: 1e-6, rtol: 1e-5 });
  }
});

Deno.test("generalizedEigenvalues() rejects S_w that is not positive definite, naming the op and the regularization", () => {
  const sb = device.tensor([1, 0, 0, 1], [2, 2]);
  assert.throws(
    () => generalizedEigenvalues(sb, device.tensor([1, 2, 2, 1], [2, 2])),
    (e: Error) =>
      e instanceof RangeError && /generalizedEigenvalues/.test(e.message) && /regularization/.test(e.message),
  );
  assert.throws(() => generalizedEigenvalues(sb, device.tensor([0, 0, 0, 0], [2, 2])), RangeError);
  assert.throws(
    () => generalizedEigenvaluesGrad(sb, device.tensor([-1, 0, 0, 1], [2, 2]), device.tensor([1, 1], [2])),
    /generalizedEigenvaluesGrad.*positive definite/,
  );
});

Deno.test("generalizedEigenvalues() rejects NaN and infinite values with a RangeError", () => {
  const eye = device.tensor([1, 0, 0, 1], [2, 2]);
  assert.throws(
    () => generalizedEigenvalues(device.tensor([1, NaN, NaN, 1], [2, 2]), eye),
    /sb\[0, 1\] is NaN/,
  );
  assert.throws(
    () => generalizedEigenvalues(eye, device.tensor([1, 0, 0, Infinity], [2, 2])),
    /sw\[1, 1\] is Infinity/,
  );
});

Deno.test("generalizedEigenvalues() rejects shapes that are not two equal square matrices", () => {
  const eye = device.tensor([1, 0, 0, 1], [2, 2]);
  assert.throws(() => generalizedEigenvalues(device.zeros([2, 3]), device.zeros([2, 3])), TypeError);
  assert.throws(() => generalizedEigenvalues(eye, device.fill([3, 3], 1)), /\[2,2\] and \[3,3\]/);
  assert.throws(() => generalizedEigenvaluesGrad(eye, eye, device.zeros([3])), /w must be \[2\]/);
});

Deno.test("generalizedEigenvalues() handles repeated eigenvalues and a 1×1 pair", () => {
  const got = tidy(() =>
    values(
      generalizedEigenvalues(
        device.tensor([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 3]),
        device.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]),
      ),
    )
  );
  assertClose(got, [2, 2, 2]);
  assertClose(
    tidy(() => values(generalizedEigenvalues(device.tensor([6], [1, 1]), device.tensor([4], [1, 1])))),
    [1.5],
  );
});
