/**
 * Matrix multiplication of 2-D tensors with optional transposes.
 * @module
 */
import { defineOp, type OpDef } from "../op.ts";
import { runOp, type Tensor } from "../tensor.ts";

/** Attributes of `matmul`. */
export interface MatmulAttrs {
  /** Use Aᵀ. */
  readonly transposeA?: boolean;
  /** Use Bᵀ. */
  readonly transposeB?: boolean;
}

/** `op(A) · op(B)` for 2-D A and B. */
export const matmulOp: OpDef<MatmulAttrs> = defineOp<MatmulAttrs>({
  name: "matmul",
  inputs: ["a", "b"],
  outputShape([a, b], { transposeA, transposeB }) {
    if (a.length !== 2 || b.length !== 2) {
      throw new TypeError(`Cannot apply matmul to shapes [${a}] and [${b}]: both must be 2-D`);
    }
    const [m, ka] = transposeA ? [a[1], a[0]] : [a[0], a[1]];
    const [kb, n] = transposeB ? [b[1], b[0]] : [b[0], b[1]];
    if (ka !== kb) {
      throw new TypeError(
        `Cannot apply matmul to shapes [${a}] and [${b}]: inner dimensions ${ka} and ${kb} differ`,
      );
    }
    return [m, n];
  },
  reference([a, b], [sa, sb], { transposeA, transposeB }, [m, n]) {
    const k = transposeA ? sa[0] : sa[1];
    const y = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transposeA ? a[p * sa[1] + i] : a[i * sa[1] + p];
          const bv = transposeB ? b[j * sb[1] + p] : b[p * sb[1] + j];
          s += av * bv;
        }
        y[i * n + j] = s;
      }
    }
    return y;
  },
  grads: [
    ({ dy, inputs: [, b], attrs: { transposeA: ta, transposeB: tb } }) =>
      ta ? matmul(b, dy, { transposeA: tb, transposeB: true }) : matmul(dy, b, { transposeB: !tb }),
    ({ dy, inputs: [a], attrs: { transposeA: ta, transposeB: tb } }) =>
      tb ? matmul(dy, a, { transposeA: true, transposeB: ta }) : matmul(a, dy, { transposeA: !ta }),
  ],
});

/**
 * Multiplies matrices.
 *
 * @param a Left matrix `[m, k]` (or `[k, m]` with `transposeA`).
 * @param b Right matrix `[k, n]` (or `[n, k]` with `transposeB`).
 * @param attrs Transpose flags.
 * @returns `[m, n]`.
 */
export function matmul(a: Tensor, b: Tensor, attrs: MatmulAttrs = {}): Tensor {
  return runOp(matmulOp, [a, b], attrs);
}
