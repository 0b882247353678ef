/**
 * The transform matrices of Winograd's minimal filtering F(m, r) by the Toom-Cook construction
 * (Lavin and Gray, 2016, §4; Winograd, 1980): m outputs of an r-tap correlation from n = m + r − 1
 * inputs with n multiplications, `y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)]`. Private.
 *
 * With the n − 1 points p_j (0, 1, −1, 2, −2, ½, −½, … in that order) and the point at infinity,
 * let V be the n × n evaluation matrix (V[j][i] = p_jⁱ; the row at infinity picks the leading
 * coefficient). A polynomial product is `s = V⁻¹·[(V_r·g) ⊙ (V_m·h)]`, with V_r, V_m the first r and
 * m columns of V (their row at infinity again picking the leading coefficient); correlation is its
 * transpose, so `Aᵀ = V_mᵀ`, `G = V_r` and `Bᵀ = V⁻ᵀ`. Row j of G is divided by
 * f_j = Π_{l≠j}(p_j − p_l) and row j of Bᵀ multiplied by it, which makes Bᵀ's entries the
 * coefficients of Π_{l≠j}(x − p_l): small integers for integer points.
 * @module
 */

/** Points after 0, in the order they are taken (the most accurate first). */
const POINTS = [0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 1 / 3, -1 / 3];

/** Aᵀ `[m, n]`, G `[n, r]` and Bᵀ `[n, n]` of F(m, r). */
export interface ToomCook {
  readonly at: number[][];
  readonly g: number[][];
  readonly bt: number[][];
}

/** The inverse of a square matrix by Gauss-Jordan elimination with partial pivoting (float64). */
function invert(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  const work = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(work[r][col]) > Math.abs(work[pivot][col])) pivot = r;
    [work[col], work[pivot]] = [work[pivot], work[col]];
    const p = work[col][col];
    for (let j = 0; j < 2 * n; j++) work[col][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === col || work[r][col] === 0) continue;
      const f = work[r][col];
      for (let j = 0; j < 2 * n; j++) work[r][j] -= f * work[col][j];
    }
  }
  return work.map((row) => row.slice(n));
}

/** `v` rounded to an integer when it is one up to rounding error of the inversion. */
function snap(v: number): number {
  const near = Math.round(v);
  return Math.abs(v - near) < 1e-9 ? near + 0 : v;
}

/**
 * The matrices of F(m, r).
 *
 * @param m Outputs per tile (≥ 1).
 * @param r Filter taps (≥ 1); m + r − 2 points must be available (at most 12).
 * @throws {RangeError} If m or r is not a positive integer or the tile is too large.
 * @example F(2, 3): 2 outputs of a 3-tap correlation from 4 inputs with 4 multiplications
 * ```ts
 * import { toomCook } from "./_toom_cook.ts";
 * import assert from "node:assert/strict";
 * const { at, g, bt } = toomCook(2, 3);
 * const d = [1, 2, 3, 4], w = [1, 0, -1];
 * const u = g.map((row) => row.reduce((s, v, k) => s + v * w[k], 0));
 * const v = bt.map((row) => row.reduce((s, x, l) => s + x * d[l], 0));
 * const y = at.map((row) => row.reduce((s, a, j) => s + a * u[j] * v[j], 0));
 * assert.deepEqual(y.map(Math.round), [1 - 3, 2 - 4]);
 * ```
 */
export function toomCook(m: number, r: number): ToomCook {
  const n = m + r - 1;
  if (!Number.isInteger(m) || !Number.isInteger(r) || m < 1 || r < 1 || n - 1 > POINTS.length) {
    throw new RangeError(
      `Cannot build Winograd F(${m}, ${r}): outputs and taps must be positive integers with m + r ≤ ${
        POINTS.length + 2
      }`,
    );
  }
  const points = POINTS.slice(0, n - 1);
  // Row j of an evaluation matrix with `cols` columns: powers of p_j, or the leading coefficient.
  const evaluate = (cols: number) =>
    Array.from(
      { length: n },
      (_, j) => Array.from({ length: cols }, (_, i) => (j < n - 1 ? points[j] ** i : i === cols - 1 ? 1 : 0)),
    );
  const f = Array.from(
    { length: n },
    (_, j) => (j < n - 1 ? points.reduce((s, p, l) => (l === j ? s : s * (points[j] - p)), 1) : 1),
  );
  const vm = evaluate(m), vinv = invert(evaluate(n));
  return {
    at: Array.from({ length: m }, (_, i) => vm.map((row) => row[i])),
    g: evaluate(r).map((row, j) => row.map((v) => v / f[j])),
    bt: Array.from({ length: n }, (_, j) => vinv.map((row) => snap(row[j] * f[j]))),
  };
}
