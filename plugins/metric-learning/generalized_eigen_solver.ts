/**
 * Host float64 solver of the symmetric-definite generalized eigenproblem `S_b v = λ S_w v`, shared
 * by the reference and CPU kernels of `generalizedEigenvalues` and its gradient op.
 *
 * Design notes: the matrices are tiny (the embedding width, a few dozen) and the problem is
 * ill-conditioned in float32, so everything runs in float64 on the host with plain loops rather
 * than through `gemm`. The reduction is the textbook one (Golub & Van Loan §8.7): Cholesky
 * `S_w = L Lᵀ`, `M = L⁻¹ S_b L⁻ᵀ` (symmetrised), cyclic Jacobi rotations on `M = U Λ Uᵀ` until the
 * off-diagonal mass is below 1e-15 of the total, then `V = L⁻ᵀ U`, so `Vᵀ S_w V = I` and
 * `Vᵀ S_b V = Λ`. Both inputs are symmetrised (`(S + Sᵀ)/2`) first, which makes the op a function
 * of the symmetric parts only: the gradient `v vᵀ` is then exact for any perturbation, symmetric or not.
 * @module
 */

/** Eigenvalues (ascending) and S_w-orthonormal eigenvectors of `S_b v = λ S_w v`. */
export interface GeneralizedEigen {
  /** Matrix size. */
  readonly d: number;
  /** Eigenvalues in ascending order. */
  readonly values: Float64Array;
  /** Eigenvectors, row-major `[d, d]`: column `i` is `vᵢ`, with `vᵢᵀ S_w vᵢ = 1`. */
  readonly vectors: Float64Array;
}

const MAX_SWEEPS = 100;

/**
 * Solves `S_b v = λ S_w v` for symmetric `S_b` and symmetric positive definite `S_w`, in float64.
 *
 * @param sb `S_b`, row-major `[d, d]` (its symmetric part is used).
 * @param sw `S_w`, row-major `[d, d]` (its symmetric part is used).
 * @param op The op name to put in error messages (default `"generalizedEigenvalues"`).
 * @returns Ascending eigenvalues and the matching eigenvectors.
 * @throws {TypeError} If the arrays are not square matrices of one size.
 * @throws {RangeError} If a value is not finite, or `S_w` is not positive definite.
 * @example A diagonal pair: λ = diag(S_b) / diag(S_w)
 * ```ts
 * import { solveGeneralizedEigen } from "./generalized_eigen_solver.ts";
 * import assert from "node:assert/strict";
 * const { values } = solveGeneralizedEigen(new Float64Array([6, 0, 0, 1]), new Float64Array([2, 0, 0, 4]));
 * assert.deepEqual([...values].map((v) => +v.toFixed(12)), [0.25, 3]);
 * ```
 */
export function solveGeneralizedEigen(
  sb: ArrayLike<number>,
  sw: ArrayLike<number>,
  op = "generalizedEigenvalues",
): GeneralizedEigen {
  const d = Math.round(Math.sqrt(sb.length));
  if (d < 1 || d * d !== sb.length || sw.length !== sb.length) {
    throw new TypeError(
      `Cannot compute ${op}: sb and sw must be square matrices of one size, got ${sb.length} and ${sw.length} values`,
    );
  }
  for (let i = 0; i < d * d; i++) {
    if (!Number.isFinite(sb[i]) || !Number.isFinite(sw[i])) {
      const [name, v] = Number.isFinite(sb[i]) ? ["sw", sw[i]] : ["sb", sb[i]];
      throw new RangeError(
        `Cannot compute ${op}: ${name}[${Math.floor(i / d)}, ${
          i % d
        }] is ${v}; the scatter matrices must be finite`,
      );
    }
  }
  const l = cholesky(symmetricPart(sw, d), d, op);
  // M = L⁻¹ S_b L⁻ᵀ: X = L⁻¹ S_b, then M = L⁻¹ Xᵀ (S_b symmetric, so (L⁻¹ S_b L⁻ᵀ)ᵀ = L⁻¹ Xᵀ).
  const x = forwardSolve(l, symmetricPart(sb, d), d);
  const m = forwardSolve(l, transpose(x, d), d);
  const a = symmetricPart(m, d);
  const u = jacobi(a, d);
  // Sort ascending, permuting U's columns alongside.
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[i * d + i] - a[j * d + j]);
  const values = new Float64Array(d);
  const sorted = new Float64Array(d * d);
  for (let c = 0; c < d; c++) {
    const src = order[c];
    values[c] = a[src * d + src];
    for (let r = 0; r < d; r++) sorted[r * d + c] = u[r * d + src];
  }
  return { d, values, vectors: backSolveTransposed(l, sorted, d) };
}

/**
 * Computes `V diag(w) Vᵀ`, the gradient of `Σᵢ wᵢ λᵢ` with respect to `S_b`.
 *
 * @param eigen A solution from `solveGeneralizedEigen`.
 * @param w One weight per eigenvalue (ascending order).
 * @returns Row-major `[d, d]` float64 values.
 * @example One eigenvalue's gradient is vvᵀ
 * ```ts
 * import { eigenOuterSum, solveGeneralizedEigen } from "./generalized_eigen_solver.ts";
 * import assert from "node:assert/strict";
 * const e = solveGeneralizedEigen([2, 0, 0, 1], [4, 0, 0, 1]);
 * assert.deepEqual([...eigenOuterSum(e, [1, 0])], [0.25, 0, 0, 0]);
 * ```
 */
export function eigenOuterSum(eigen: GeneralizedEigen, w: ArrayLike<number>): Float64Array {
  const { d, vectors: v } = eigen;
  const g = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += v[i * d + k] * w[k] * v[j * d + k];
      g[i * d + j] = s;
      g[j * d + i] = s;
    }
  }
  return g;
}

function symmetricPart(s: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) out[i * d + j] = 0.5 * (s[i * d + j] + s[j * d + i]);
  }
  return out;
}

function transpose(s: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[j * d + i] = s[i * d + j];
  return out;
}

/** Lower-triangular L with L Lᵀ = s; throws when a pivot is not positive. */
function cholesky(s: Float64Array, d: number, op: string): Float64Array {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let diag = s[j * d + j];
    for (let k = 0; k < j; k++) diag -= l[j * d + k] * l[j * d + k];
    if (!(diag > 0)) {
      throw new RangeError(
        `Cannot compute ${op}: sw is not positive definite (Cholesky pivot ${j} is ${diag}); raise the regularization added to its diagonal`,
      );
    }
    const ljj = Math.sqrt(diag);
    l[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let v = s[i * d + j];
      for (let k = 0; k < j; k++) v -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = v / ljj;
    }
  }
  return l;
}

/** Solves L X = B for X, column by column (L lower triangular). */
function forwardSolve(l: Float64Array, b: Float64Array, d: number): Float64Array {
  const x = new Float64Array(d * d);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      let v = b[i * d + c];
      for (let k = 0; k < i; k++) v -= l[i * d + k] * x[k * d + c];
      x[i * d + c] = v / l[i * d + i];
    }
  }
  return x;
}

/** Solves Lᵀ X = B for X (L lower triangular, so Lᵀ is upper). */
function backSolveTransposed(l: Float64Array, b: Float64Array, d: number): Float64Array {
  const x = new Float64Array(d * d);
  for (let c = 0; c < d; c++) {
    for (let i = d - 1; i >= 0; i--) {
      let v = b[i * d + c];
      for (let k = i + 1; k < d; k++) v -= l[k * d + i] * x[k * d + c];
      x[i * d + c] = v / l[i * d + i];
    }
  }
  return x;
}

/**
 * Cyclic Jacobi: diagonalises the symmetric `a` in place (its diagonal ends up holding the
 * eigenvalues) and returns the orthogonal U with `a_original = U diag Uᵀ`.
 */
function jacobi(a: Float64Array, d: number): Float64Array {
  const u = new Float64Array(d * d);
  for (let i = 0; i < d; i++) u[i * d + i] = 1;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const v = a[i * d + j] * a[i * d + j];
        total += v;
        if (i !== j) off += v;
      }
    }
    if (off <= 1e-30 * total || off === 0) return u;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (apq === 0) continue;
        // Rotation angle that zeroes a[p][q] (Rutishauser's stable form).
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) { // columns p, q of a
          const akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) { // rows p, q of a
          const apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) { // columns p, q of u
          const ukp = u[k * d + p], ukq = u[k * d + q];
          u[k * d + p] = c * ukp - s * ukq;
          u[k * d + q] = s * ukp + c * ukq;
        }
      }
    }
  }
  return u;
}
