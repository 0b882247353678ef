/**
 * Two-dimensional projection of embeddings by principal component analysis, for the scatter plot
 * of embedding runs. Deterministic (power iteration from a fixed start), so reports reproduce.
 * @module
 */

/**
 * Projects `n` row vectors of dimension `dim` onto their first two principal components.
 *
 * @param values Row-major `[n, dim]` values.
 * @param dim Vector length.
 * @returns `x` and `y` coordinates per row (PC1, PC2).
 * @throws {TypeError} If `values.length` is not a multiple of `dim`.
 * @example Points on a line project onto PC1
 * ```ts
 * import { pca2d } from "@cnnlab/reports/insights";
 * import assert from "node:assert/strict";
 * const { x, y } = pca2d(new Float32Array([0, 0, 1, 1, 2, 2]), 2);
 * assert.ok(Math.abs(Math.abs(x[2] - x[0]) - 2 * Math.SQRT2) < 1e-5);
 * assert.ok(y.every((v) => Math.abs(v) < 1e-5));
 * ```
 */
export function pca2d(values: Float32Array, dim: number): { x: Float64Array; y: Float64Array } {
  if (dim < 1 || values.length % dim !== 0) {
    throw new TypeError(`Cannot project embeddings: ${values.length} values are not rows of length ${dim}`);
  }
  const n = values.length / dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += values[i * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const da = values[i * dim + a] - mean[a];
      for (let b = a; b < dim; b++) cov[a * dim + b] += da * (values[i * dim + b] - mean[b]);
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a];
  const pc1 = leadingEigenvector(cov, dim, []);
  const pc2 = leadingEigenvector(cov, dim, [pc1]);
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sx = 0, sy = 0;
    for (let j = 0; j < dim; j++) {
      const d = values[i * dim + j] - mean[j];
      sx += d * pc1[j];
      sy += d * pc2[j];
    }
    x[i] = sx;
    y[i] = sy;
  }
  return { x, y };
}

/** Power iteration on a symmetric matrix, orthogonal to the given vectors. */
function leadingEigenvector(m: Float64Array, dim: number, against: readonly Float64Array[]): Float64Array {
  let v = new Float64Array(dim);
  for (let j = 0; j < dim; j++) v[j] = 1 + j / dim;
  let scale = 0;
  for (let j = 0; j < dim; j++) scale = Math.max(scale, Math.abs(m[j * dim + j]));
  if (scale === 0) return orthogonalBasisVector(dim, against);
  orthogonalize(v, against);
  for (let iter = 0; iter < 300; iter++) {
    const next = new Float64Array(dim);
    for (let a = 0; a < dim; a++) {
      let s = 0;
      for (let b = 0; b < dim; b++) s += m[a * dim + b] * v[b];
      next[a] = s;
    }
    orthogonalize(next, against);
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += next[j] * next[j];
    norm = Math.sqrt(norm);
    // No variance left outside `against`: any orthogonal direction will do (the points project to 0).
    if (norm < 1e-9 * scale) return orthogonalBasisVector(dim, against);
    for (let j = 0; j < dim; j++) next[j] /= norm;
    v = next;
  }
  return v;
}

function orthogonalize(v: Float64Array, against: readonly Float64Array[]): void {
  for (const u of against) {
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += v[j] * u[j];
    for (let j = 0; j < v.length; j++) v[j] -= dot * u[j];
  }
}

function orthogonalBasisVector(dim: number, against: readonly Float64Array[]): Float64Array {
  let best = new Float64Array(dim), bestNorm = -1;
  for (let e = 0; e < dim; e++) {
    const v = new Float64Array(dim);
    v[e] = 1;
    orthogonalize(v, against);
    const norm = Math.hypot(...v);
    if (norm > bestNorm) [best, bestNorm] = [v, norm];
  }
  for (let j = 0; j < dim; j++) best[j] /= bestNorm || 1;
  return best;
}
