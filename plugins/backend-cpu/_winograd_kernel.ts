/**
 * Winograd transform kernels in WebAssembly SIMD, generated at load time with `_wasm_emitter.ts`
 * from the matrices of `_toom_cook.ts`, their constants built into the code (zeros skipped, ±1 as
 * additions and subtractions). Private.
 *
 * `winogradIn${m}x${r}(src, dst, vectors, ldSrc, ldDst)` and `winogradOut${m}x${r}(…)` apply
 * `L·d·Lᵀ` (L = Bᵀ, n × n, and L = Aᵀ, m × n, of F(m×m, r×r), for each shape of `WINOGRAD_SHAPES`) to every column of a
 * matrix whose rows are the n² values of a patch in row-major order: row `a·q + b` of `src` (q
 * columns of L) holds patch value (a, b) of every column; row `i·p + k` of `dst` (p rows of L)
 * receives transformed value (i, k). Four columns at a time, `vectors` times: 4·vectors columns from
 * byte addresses `src` and `dst`, rows `ldSrc` and `ldDst` bytes apart. No function returns a value
 * or calls another.
 * @module
 */
import { Code, type FunctionSpec, I32, V128 } from "./_wasm_emitter.ts";
import { toomCook } from "./_toom_cook.ts";

/** The shapes F(m×m, r×r) that have transform kernels, as [m, r]: m from 2 to 4 for 3×3 and 5×5 kernels. */
export const WINOGRAD_SHAPES: readonly (readonly [number, number])[] = [[2, 3], [3, 3], [4, 3], [2, 5], [
  3,
  5,
], [4, 5]];

/** The export name of a transform kernel: `winogradIn${m}x${r}` or `winogradOut${m}x${r}`. */
export function transformName(
  side: "In" | "Out",
  m: number,
  r: number,
): `winograd${"In" | "Out"}${number}x${number}` {
  return `winograd${side}${m}x${r}`;
}

/** The functions of `winogradKernelFunctions` as exports of an instance (byte addresses and strides). */
export type WinogradExports = Record<
  `winograd${"In" | "Out"}${number}x${number}`,
  (src: number, dst: number, vectors: number, ldSrc: number, ldDst: number) => void
>;

/** `name(src, dst, vectors, ldSrc, ldDst)`: `L ⊗ L` applied to each group of four columns. */
function transformFunction(name: string, l: readonly (readonly number[])[]): FunctionSpec {
  const p = l.length, q = l[0].length;
  const [src, dst, vectors, ldSrc, ldDst] = [0, 1, 2, 3, 4];
  let next = 5;
  const col = next++;
  const srcRows = Array.from({ length: q * q }, () => next++);
  const dstRows = Array.from({ length: p * p }, () => next++);
  const firstV128 = next;
  const constants = new Map<number, number>();
  for (const row of l) for (const v of row) if (v !== 0 && !constants.has(v)) constants.set(v, next++);
  const loaded = Array.from({ length: q }, () => next++);
  const partial = Array.from({ length: p * q }, () => next++);
  const code = new Code();
  for (const [value, local] of constants) code.f32Const(value).f32x4Splat().localSet(local);
  // Row pointers: src + row·ldSrc, dst + row·ldDst.
  srcRows.forEach((local, row) =>
    code.localGet(src).localGet(ldSrc).i32Const(row).i32Mul().i32Add().localSet(local)
  );
  dstRows.forEach((local, row) =>
    code.localGet(dst).localGet(ldDst).i32Const(row).i32Mul().i32Add().localSet(local)
  );
  code.i32Const(0).localSet(col);

  /** Pushes Σ_j coefficient(j)·value(j) over the non-zero coefficients (their count is ≥ 1). */
  const combine = (coefficients: readonly number[], value: (j: number) => number) => {
    let first = true;
    coefficients.forEach((c, j) => {
      if (c === 0) return;
      code.localGet(value(j));
      if (first) {
        if (c !== 1) code.localGet(constants.get(c)!).f32x4Mul();
      } else if (c === 1) code.f32x4Add();
      else if (c === -1) code.f32x4Sub();
      else code.localGet(constants.get(c)!).f32x4Mul().f32x4Add();
      first = false;
    });
    if (first) code.f32Const(0).f32x4Splat();
  };

  code.block().localGet(vectors).i32Eqz().brIf(0).loop();
  // Columns of the patch: partial(i, b) = Σ_a L[i][a]·d(a, b).
  for (let b = 0; b < q; b++) {
    for (let a = 0; a < q; a++) {
      code.localGet(srcRows[a * q + b]).localGet(col).i32Add().v128Load().localSet(loaded[a]);
    }
    for (let i = 0; i < p; i++) {
      combine(l[i], (a) => loaded[a]);
      code.localSet(partial[i * q + b]);
    }
  }
  // Rows: out(i, k) = Σ_b L[k][b]·partial(i, b).
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < p; k++) {
      code.localGet(dstRows[i * p + k]).localGet(col).i32Add();
      combine(l[k], (b) => partial[i * q + b]);
      code.v128Store();
    }
  }
  code.localGet(col).i32Const(16).i32Add().localSet(col);
  code.localGet(vectors).i32Const(1).i32Sub().localTee(vectors).brIf(0);
  code.end().end();
  return {
    export: name,
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [
      ...new Array(firstV128 - 5).fill(I32),
      ...new Array(next - firstV128).fill(V128),
    ],
    body: code,
  };
}

/** The input and output transform kernels of every shape of `WINOGRAD_SHAPES`. */
export function winogradKernelFunctions(): FunctionSpec[] {
  return WINOGRAD_SHAPES.flatMap(([m, r]) => {
    const { at, bt } = toomCook(m, r);
    return [
      transformFunction(transformName("In", m, r), bt),
      transformFunction(transformName("Out", m, r), at),
    ];
  });
}
