/**
 * The plain TypeScript GEMM: the reference and the fallback of `gemm` where WebAssembly SIMD is
 * missing (or `setCpuKernels("ts")` asks for it), and the path of very small products.
 *
 * Two loop shapes: when B is given row-major as `[k, n]`, an i-k-j loop over four rows of C at a
 * time streams B and C along contiguous rows, blocked by columns so the four C rows stay in L1;
 * when B is given transposed (`[n, k]`), each C element is a dot product of two contiguous rows,
 * computed two-by-two so every loaded value is used twice.
 * @module
 */

import type { GemmOptions } from "./gemm.ts";

const COLUMN_BLOCK = 512;

/** The batch of a `gemm` call: products, and floats between consecutive products' A, B and C. */
export interface GemmBatch {
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
}

/**
 * Resolves the batch options of `gemm` into `into` (reused, so that a call allocates nothing): one
 * product by default, products `m·k`, `k·n` and `m·n` floats apart (one after the other).
 *
 * @returns `into`.
 */
export function resolveBatch(
  m: number,
  n: number,
  k: number,
  options: GemmOptions,
  into: GemmBatch,
): GemmBatch {
  into.batch = options.batch ?? 1;
  into.strideA = options.strideA ?? m * k;
  into.strideB = options.strideB ?? k * n;
  into.strideC = options.strideC ?? m * n;
  return into;
}

const batchOfCall: GemmBatch = { batch: 1, strideA: 0, strideB: 0, strideC: 0 };

/**
 * Computes `C = op(A) · op(B)` (or `C += …`) for row-major float32 matrices, C being `[m, n]`, in
 * plain TypeScript on this thread; with `batch`, one product after the other. Same contract as
 * `gemm`, minus its argument checks.
 *
 * @param m Rows of C.
 * @param n Columns of C.
 * @param k Inner dimension.
 * @param a A's values.
 * @param b B's values.
 * @param c C's values, written in place.
 * @param options Transposes, accumulation, offsets, batch and strides.
 * @returns Nothing; C is written in place.
 * @throws Never; out-of-range reads yield NaN (use `gemm` for checked arguments).
 * @example 2×2 times 2×2
 * ```ts
 * import { gemmTs } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * const c = new Float32Array(4);
 * gemmTs(2, 2, 2, new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), c);
 * assert.deepEqual([...c], [19, 22, 43, 50]);
 * ```
 */
export function gemmTs(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  options: GemmOptions = {},
): void {
  const { batch, strideA, strideB, strideC } = resolveBatch(m, n, k, options, batchOfCall);
  const offA = options.offsetA ?? 0, offB = options.offsetB ?? 0, offC = options.offsetC ?? 0;
  for (let i = 0; i < batch; i++) {
    gemmOne(m, n, k, a, b, c, options, offA + i * strideA, offB + i * strideB, offC + i * strideC);
  }
}

/** One product of `gemmTs`, its operands at the offsets given. */
function gemmOne(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  options: GemmOptions,
  offA: number,
  offB: number,
  offC: number,
): void {
  const { transposeA = false, transposeB = false, accumulate = false } = options;
  if (!accumulate) c.fill(0, offC, offC + m * n);
  if (m === 0 || n === 0 || k === 0) return;
  if (transposeB) {
    let rowA = a;
    if (transposeA) {
      rowA = transposeCopy(a, offA, k, m);
      offA = 0;
    }
    gemmDot(m, n, k, rowA, offA, b, offB, c, offC);
  } else {
    gemmAxpy(m, n, k, a, offA, transposeA, b, offB, c, offC);
  }
}

function transposeCopy(src: Float32Array, off: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = off + r * cols;
    for (let q = 0; q < cols; q++) out[q * rows + r] = src[s + q];
  }
  return out;
}

/** C[i, :] += Σ_p A[i, p] · B[p, :], four rows of C per pass, columns in blocks. */
function gemmAxpy(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  offA: number,
  transA: boolean,
  b: Float32Array,
  offB: number,
  c: Float32Array,
  offC: number,
): void {
  // Stride between A[i, p] and A[i, p + 1], and between A[i, p] and A[i + 1, p].
  const sp = transA ? m : 1, si = transA ? 1 : k;
  for (let j0 = 0; j0 < n; j0 += COLUMN_BLOCK) {
    const j1 = Math.min(n, j0 + COLUMN_BLOCK);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const c0 = offC + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
      let ap = offA + i * si;
      for (let p = 0; p < k; p++, ap += sp) {
        const a0 = a[ap], a1 = a[ap + si], a2 = a[ap + 2 * si], a3 = a[ap + 3 * si];
        const bo = offB + p * n;
        for (let j = j0; j < j1; j++) {
          const bv = b[bo + j];
          c[c0 + j] += a0 * bv;
          c[c1 + j] += a1 * bv;
          c[c2 + j] += a2 * bv;
          c[c3 + j] += a3 * bv;
        }
      }
    }
    for (; i < m; i++) {
      const c0 = offC + i * n;
      let ap = offA + i * si;
      for (let p = 0; p < k; p++, ap += sp) {
        const a0 = a[ap];
        if (a0 === 0) continue;
        const bo = offB + p * n;
        for (let j = j0; j < j1; j++) c[c0 + j] += a0 * b[bo + j];
      }
    }
  }
}

/** C[i, j] += A[i, :] · B[j, :] (B stored `[n, k]`), two rows by two columns at a time. */
function gemmDot(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  offA: number,
  b: Float32Array,
  offB: number,
  c: Float32Array,
  offC: number,
): void {
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = offA + i * k, a1 = a0 + k;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = offB + j * k, b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p], x1 = a[a1 + p], y0 = b[b0 + p], y1 = b[b1 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      const ci = offC + i * n + j;
      c[ci] += s00;
      c[ci + 1] += s01;
      c[ci + n] += s10;
      c[ci + n + 1] += s11;
    }
    for (; j < n; j++) {
      const b0 = offB + j * k;
      let s0 = 0, s1 = 0;
      for (let p = 0; p < k; p++) {
        const y = b[b0 + p];
        s0 += a[a0 + p] * y;
        s1 += a[a1 + p] * y;
      }
      c[offC + i * n + j] += s0;
      c[offC + (i + 1) * n + j] += s1;
    }
  }
  for (; i < m; i++) {
    const a0 = offA + i * k;
    for (let j = 0; j < n; j++) {
      const b0 = offB + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[a0 + p] * b[b0 + p];
      c[offC + i * n + j] += s;
    }
  }
}
