/**
 * A "few rows times a matrix" kernel (GEMV and its small-batch cousins) as a WebAssembly function,
 * generated with `_wasm_emitter.ts`. Private. Addresses and row strides are in bytes.
 *
 * **Streaming order.** A dense layer at batch 1 is bound by memory: every weight is read once and
 * used once per row of A. The GEMM reads B in column panels whose depth steps are `ldb` bytes
 * apart (a new page per step); this kernel instead walks B row by row, contiguously: for `unroll`
 * consecutive depth steps p…p+u−1 it broadcasts the `rows × unroll` values of A once, then sweeps
 * the columns, loading each vector of y once, adding the `unroll` rows of B times their broadcasts
 * (`f32x4.relaxed_madd`, or `f32x4.mul` then `f32x4.add` for plain SIMD), and storing it back. y
 * (`rows × n` floats) stays in L1/L2 while B streams from memory. Exported function:
 *
 * - `rowsTimes${rows}(a, lda, b, ldb, y, n, k)`, all i32: for r < rows and j < n,
 *   `y[r·n + j] += Σ_(p<k) a[r·lda/4 + p] · b[p·ldb/4 + j]`; `a` holds `rows` rows of A (`lda`
 *   bytes apart), `b` a row-major `[k, n]` matrix (`ldb` ≥ n·4 bytes between rows, so it may be a
 *   block of a wider one), `y` a packed `[rows, n]` block that is added into (zero it first for a
 *   plain product; or give each chunk of depth its own partial y). Columns past the last multiple
 *   of 4 are done one by one, the last `k mod unroll` depth steps in sweeps of 2^i steps. Any `n`,
 *   `k` ≥ 0; no alignment needed.
 * @module
 */
import { Code, type FunctionSpec, I32, madd, repeat, V128, type ValType } from "./_wasm_emitter.ts";

/** The most rows of A one `rowsTimes…` function handles. */
export const GEMV_MAX_ROWS = 4;

/** Options of {@link gemvFunction}. */
export interface GemvOptions {
  /** Use `f32x4.relaxed_madd` (relaxed SIMD) instead of `f32x4.mul` + `f32x4.add`. */
  readonly relaxed: boolean;
  /** Rows of A, 1 to {@link GEMV_MAX_ROWS}. */
  readonly rows: number;
  /** Depth steps (rows of B) per sweep over y; default from {@link GEMV_SHAPE}. */
  readonly unroll?: number;
  /** Vectors of 4 columns per inner iteration, 1, 2 or 4; default from {@link GEMV_SHAPE}. */
  readonly vectors?: number;
}

/**
 * The default `unroll` and `vectors`, for every row count and both flavours: the fastest or within
 * noise of it on x86-64 (AMD EPYC, n = 4096, k = 9216). Four rows of B in flight beat fewer even
 * where the `rows · unroll` broadcasts and `rows · vectors` sums spill from the 16 vector registers
 * (3 and 4 rows); 2 vectors per iteration beat 1 and 4 for 2 to 4 rows and tie at 1 row.
 */
export const GEMV_SHAPE: { readonly unroll: number; readonly vectors: number } = { unroll: 4, vectors: 2 };

/** Adds `step` to each local of `pointers`. */
function advance(code: Code, pointers: readonly number[], step: number): void {
  for (const p of pointers) code.localGet(p).i32Const(step).i32Add().localSet(p);
}

/**
 * The function `rowsTimes${rows}(a, lda, b, ldb, y, n, k)`: `y[rows, n] += A[rows, k] · B[k, n]`,
 * B streamed row by row (see the module comment).
 *
 * @param options Flavour and rows; `unroll` and `vectors` default to {@link GEMV_SHAPE}.
 * @returns The function, exported as `rowsTimes${rows}`, for `encodeModule`.
 * @throws {RangeError} If `rows` is not an integer in [1, {@link GEMV_MAX_ROWS}], `unroll` not a
 * positive integer, or `vectors` not 1, 2 or 4.
 */
export function gemvFunction(options: GemvOptions): FunctionSpec {
  const { relaxed, rows } = options;
  if (!Number.isInteger(rows) || rows < 1 || rows > GEMV_MAX_ROWS) {
    throw new RangeError(
      `Cannot generate rowsTimes${rows}: rows must be an integer in [1, ${GEMV_MAX_ROWS}]`,
    );
  }
  const unroll = options.unroll ?? GEMV_SHAPE.unroll;
  const vectors = options.vectors ?? GEMV_SHAPE.vectors;
  if (!Number.isInteger(unroll) || unroll < 1 || ![1, 2, 4].includes(vectors)) {
    throw new RangeError(
      `Cannot generate rowsTimes${rows} with unroll ${unroll} and vectors ${vectors}: unroll must be a positive integer and vectors 1, 2 or 4`,
    );
  }
  const [a, lda, b, ldb, y, n, k] = [0, 1, 2, 3, 4, 5, 6];
  let next = 7;
  const local = () => next++;
  const [groups, count, bRow, rowBytes] = [local(), local(), local(), local()];
  const aPtr = Array.from({ length: rows }, local); // A at row r, depth p
  const bPtr = Array.from({ length: unroll }, local); // B at depth p + u, column j
  const yPtr = Array.from({ length: rows }, local); // y at row r, column j
  const i32Count = next - 7;
  const bcast = Array.from({ length: rows * unroll }, local); // a[r, p + u] in four lanes
  const acc = Array.from({ length: rows * vectors }, local); // y[r, j + 4v …]
  const bv = local();
  const v128Count = next - 7 - i32Count;
  const code = new Code();

  /** `depth` steps (≤ unroll) against columns j…j+4·width of y: load, multiply-add, store. */
  const columns = (depth: number, width: number) => {
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < width; v++) code.localGet(yPtr[r]).v128Load(16 * v).localSet(acc[r * vectors + v]);
    }
    for (let u = 0; u < depth; u++) {
      for (let v = 0; v < width; v++) {
        code.localGet(bPtr[u]).v128Load(16 * v).localSet(bv);
        for (let r = 0; r < rows; r++) madd(code, relaxed, bcast[r * unroll + u], bv, acc[r * vectors + v]);
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < width; v++) code.localGet(yPtr[r]).localGet(acc[r * vectors + v]).v128Store(16 * v);
    }
    advance(code, [...yPtr, ...bPtr.slice(0, depth)], 16 * width);
  };

  /** One column of y for `depth` steps, in scalar arithmetic (the broadcasts' lane 0). */
  const column = (depth: number) => {
    for (let r = 0; r < rows; r++) {
      code.localGet(yPtr[r]).localGet(yPtr[r]).f32Load();
      for (let u = 0; u < depth; u++) {
        code.localGet(bcast[r * unroll + u]).f32x4ExtractLane(0).localGet(bPtr[u]).f32Load().f32Mul()
          .f32Add();
      }
      code.f32Store();
    }
    advance(code, [...yPtr, ...bPtr.slice(0, depth)], 4);
  };

  /** `depth` steps over all of y, then on to the next rows of B and columns of A. */
  const sweep = (depth: number) => {
    for (let r = 0; r < rows; r++) {
      for (let u = 0; u < depth; u++) {
        code.localGet(aPtr[r]).v128Load32Splat(4 * u).localSet(bcast[r * unroll + u]);
      }
    }
    code.localGet(bRow).localSet(bPtr[0]);
    for (let u = 1; u < depth; u++) code.localGet(bPtr[u - 1]).localGet(ldb).i32Add().localSet(bPtr[u]);
    code.localGet(y).localSet(yPtr[0]);
    for (let r = 1; r < rows; r++) code.localGet(yPtr[r - 1]).localGet(rowBytes).i32Add().localSet(yPtr[r]);
    // ⌊n / (4·vectors)⌋ wide iterations, then single vectors, then single columns.
    code.localGet(n).i32Const(2 + Math.log2(vectors)).i32ShrU().localSet(count);
    repeat(code, count, () => columns(depth, vectors));
    if (vectors > 1) {
      code.localGet(n).i32Const(2).i32ShrU().i32Const(vectors - 1).i32And().localSet(count);
      repeat(code, count, () => columns(depth, 1));
    }
    code.localGet(n).i32Const(3).i32And().localSet(count);
    repeat(code, count, () => column(depth));
    code.localGet(bRow).localGet(ldb).i32Const(depth).i32Mul().i32Add().localSet(bRow);
    advance(code, aPtr, 4 * depth);
  };

  code.localGet(b).localSet(bRow);
  code.localGet(n).i32Const(4).i32Mul().localSet(rowBytes);
  code.localGet(a).localSet(aPtr[0]);
  for (let r = 1; r < rows; r++) code.localGet(aPtr[r - 1]).localGet(lda).i32Add().localSet(aPtr[r]);
  code.localGet(k).i32Const(unroll).i32DivU().localSet(groups);
  repeat(code, groups, () => sweep(unroll));
  // The last k mod unroll steps: sweeps of 2^i steps for the bits of the remainder.
  if (unroll > 1) {
    code.localGet(k).i32Const(unroll).i32RemU().localSet(groups);
    for (let depth = 2 ** Math.floor(Math.log2(unroll - 1)); depth >= 1; depth /= 2) {
      code.localGet(groups).i32Const(depth).i32And().if();
      sweep(depth);
      code.end();
    }
  }
  return {
    export: `rowsTimes${rows}`,
    params: new Array<ValType>(7).fill(I32),
    results: [],
    locals: [...new Array<ValType>(i32Count).fill(I32), ...new Array<ValType>(v128Count).fill(V128)],
    body: code,
  };
}
