/**
 * A direct convolution whose vectors run along output columns, as a WebAssembly function generated
 * with `_wasm_emitter.ts`. Private. Addresses and strides are in bytes.
 *
 * **Why.** A layer with few input channels and few filters (LeNet-5's first convolution: 1 channel,
 * 6 filters of 5×5) makes a poor GEMM: 6 rows of depth 25, so unfolding the image into a column
 * matrix costs more than the products. This kernel reads the (already zero-padded) image in place:
 * a block of `filters × vectors` v128 accumulators holds 4·`vectors` consecutive output columns of
 * up to `filters` filters; for each tap (channel c, kernel row p, kernel column q) it loads the
 * block's weights as one vector (packed by {@link packConvRowsWeights}: a lane per filter) and
 * broadcasts each lane by a shuffle, then loads the 4·`vectors` input columns once (unaligned
 * `v128.load`), so each input vector serves every filter of the block. (One load and shuffles
 * instead of a broadcasting load per filter: V8 in Deno checks every load's bounds with integer
 * instructions, and those set the pace here; LeNet-5's layers ran 10–18% faster.) The taps are a
 * runtime loop with incrementally advanced pointers (c: + `imgPlane`, p: + `dh·ldImg`, q: + `dw·4`),
 * except that with `dw` = 1 a kernel row of a width in `straightWidths` (3 and 5 by default) is
 * straight-line code with constant offsets. Blocks run filter group by filter group, then row by
 * row, then along the row: full blocks, then one block of the remaining 1 to `vectors` − 1 vectors
 * (each filter and vector count has its own generated block); a block shape of at most
 * `PAIRED_SUMS` / 2 sums covers two rows at once (rows then go in pairs, an odd last one alone).
 * Exported function:
 *
 * - `convRows(img, w, bias, y, channels, kh, kw, dh, dw, ldImg, imgPlane, oy0, oy1, ow, filters,
 *   ldY, yPlane, relu)`, all i32: for f < filters, oy0 ≤ oy < oy1 and ox < ow,
 *   `y[f·yPlane + oy·ldY + 4·ox] = act(b_f + Σ_(c, p, q) W(f, c, p, q) ·
 *   img[c·imgPlane + (oy + p·dh)·ldImg + 4·(ox + q·dw)])` (y and img as byte addresses), where
 *   `W(f, c, p, q)` is filter f's weight at that tap as `packConvRowsWeights` placed it at `w` (with
 *   the same `filters` per block); `b_f` is the float at `bias + 4f` when `bias` ≠ 0, else 0; `act`
 *   is `max(x, 0)` as `Math.max` when `relu` ≠ 0 (NaN stays NaN, −0 gives +0, as the `relu` op), else
 *   the identity.
 *   Stride 1 and no bounds checks: every address read must lie in memory; reads may run past the end
 *   of an image row into the next one for the last columns (a row's last vector reads 4 columns even
 *   when ow is not a multiple of 4). It writes exactly ow columns per row: the last vector of a row is
 *   stored lane by lane when ow mod 4 ≠ 0. No alignment needed.
 * @module
 */
import { Code, type FunctionSpec, I32, madd, repeat, V128, type ValType } from "./_wasm_emitter.ts";

/** The most filters one block holds. */
export const CONV_ROWS_MAX_FILTERS = 4;
/** The most vectors (of 4 output columns) one block holds. */
export const CONV_ROWS_MAX_VECTORS = 8;
/** The widest kernel whose rows may be straight-line code (`straightWidths`). */
export const CONV_ROWS_MAX_WIDTH = 11;

/** Options of {@link convRowsFunction}. */
export interface ConvRowsOptions {
  /** Use `f32x4.relaxed_madd` (relaxed SIMD) instead of `f32x4.mul` + `f32x4.add`. */
  readonly relaxed: boolean;
  /** Filters per block, 1 to {@link CONV_ROWS_MAX_FILTERS}; default from {@link CONV_ROWS_SHAPE}. */
  readonly filters?: number;
  /** Vectors per block, 1 to {@link CONV_ROWS_MAX_VECTORS}; default from {@link CONV_ROWS_SHAPE}. */
  readonly vectors?: number;
  /** Kernel columns per iteration of the innermost tap loop, 1 or 2; default from {@link CONV_ROWS_SHAPE}. */
  readonly unroll?: number;
  /**
   * Kernel widths (1 to {@link CONV_ROWS_MAX_WIDTH}) whose kernel rows are straight-line code
   * when `dw` = 1, with constant offsets instead of a tap loop; default from {@link CONV_ROWS_SHAPE}.
   */
  readonly straightWidths?: readonly number[];
}

/**
 * The default block: 3 filters × 3 vectors (12 columns), rows of 3- and 5-wide kernels straight-line,
 * other kernel rows two columns at a time. On x86-64 (AMD EPYC, V8 TurboFan, one thread, 64 images)
 * it is within 5 % of the fastest shape measured for LeNet-5's first convolution (2 × 4) and 5–10 %
 * faster than it on the second (16 filters, 12 columns); 3 × 4 and more spill: 12 sums, 3
 * broadcasts and an input vector fill all 16 vector registers.
 */
export const CONV_ROWS_SHAPE: {
  readonly filters: number;
  readonly vectors: number;
  readonly unroll: number;
  readonly straightWidths: readonly number[];
} = { filters: 3, vectors: 3, unroll: 2, straightWidths: [3, 5] };

/**
 * Floats that {@link packConvRowsWeights} writes for `filters` filters of `taps` taps each: a vector
 * of 4 per group of `perBlock` filters and tap.
 *
 * @param filters Filters.
 * @param taps Taps per filter (channels · kh · kw).
 * @param perBlock Filters per block of the kernel (its `filters` option); default from {@link CONV_ROWS_SHAPE}.
 * @returns The length.
 */
export function convRowsWeightsLength(
  filters: number,
  taps: number,
  perBlock: number = CONV_ROWS_SHAPE.filters,
): number {
  return Math.ceil(filters / perBlock) * taps * 4;
}

/**
 * Packs OIHW weights for `convRows`: filters `[from, from + filters)` of `w` (rows of `taps`
 * values) into `into` from index `at`, group g of `perBlock` filters and tap t at
 * `at + (g·taps + t)·4`, lane k holding filter `g·perBlock + k`'s weight and unused lanes 0.
 *
 * @param w OIHW weights.
 * @param from First filter.
 * @param filters Filters to pack.
 * @param taps Taps per filter.
 * @param into Destination, at least `at + convRowsWeightsLength(filters, taps, perBlock)` long.
 * @param at First index written.
 * @param perBlock Filters per block of the kernel; default from {@link CONV_ROWS_SHAPE}.
 * @example Two filters of three taps, one block of three filters: lanes 0 and 1 of each tap
 * ```ts
 * import { packConvRowsWeights } from "./_conv_rows_kernel.ts";
 * import assert from "node:assert/strict";
 * const into = new Float32Array(12);
 * packConvRowsWeights(new Float32Array([1, 2, 3, 4, 5, 6]), 0, 2, 3, into, 0, 3);
 * assert.deepEqual([...into], [1, 4, 0, 0, 2, 5, 0, 0, 3, 6, 0, 0]);
 * ```
 */
export function packConvRowsWeights(
  w: Float32Array,
  from: number,
  filters: number,
  taps: number,
  into: Float32Array,
  at: number,
  perBlock: number = CONV_ROWS_SHAPE.filters,
): void {
  into.fill(0, at, at + convRowsWeightsLength(filters, taps, perBlock));
  for (let f = 0; f < filters; f++) {
    const group = at + Math.floor(f / perBlock) * taps * 4 + (f % perBlock), row = (from + f) * taps;
    for (let t = 0; t < taps; t++) into[group + 4 * t] = w[row + t];
  }
}

/**
 * Most sums of a block that runs two output rows at once. A block of few sums (3 filters × 1 vector,
 * or 1 filter × 3 vectors: LeNet-5's remainders) waits on the latency of its multiply-adds, not
 * their throughput; two rows double its independent sums, and LeNet-5's conv1 (7 vectors a row:
 * 3 + 3 + 1) and conv2 (16 filters: 5 × 3 + 1) lose less to them.
 */
const PAIRED_SUMS = 8;

/** `i8x16.shuffle` lanes that copy 32-bit lane k of the first operand into all four. */
const LANE_BROADCAST = [0, 1, 2, 3].map((k) => Array.from({ length: 16 }, (_, i) => 4 * k + (i & 3)));

/**
 * The function `convRows(…)` (see the module comment): a direct stride-1 convolution of a padded
 * image, output columns in vectors.
 *
 * @param options Flavour; `filters`, `vectors`, `unroll` and `straightWidths` default to
 * {@link CONV_ROWS_SHAPE}.
 * @returns The function, exported as `convRows`, for `encodeModule`.
 * @throws {RangeError} If `filters`, `vectors`, `unroll` or a straight width is out of range.
 */
export function convRowsFunction(options: ConvRowsOptions): FunctionSpec {
  const { relaxed } = options;
  /** Bytes of a group's weights per tap (see `packConvRowsWeights`). */
  const tapBytes = 16;
  const nf = options.filters ?? CONV_ROWS_SHAPE.filters;
  const nv = options.vectors ?? CONV_ROWS_SHAPE.vectors;
  const unroll = options.unroll ?? CONV_ROWS_SHAPE.unroll;
  const straightWidths = options.straightWidths ?? CONV_ROWS_SHAPE.straightWidths;
  if (
    !Number.isInteger(nf) || nf < 1 || nf > CONV_ROWS_MAX_FILTERS || !Number.isInteger(nv) || nv < 1 ||
    nv > CONV_ROWS_MAX_VECTORS || (unroll !== 1 && unroll !== 2) ||
    !straightWidths.every((q) => Number.isInteger(q) && q >= 1 && q <= CONV_ROWS_MAX_WIDTH)
  ) {
    throw new RangeError(
      `Cannot generate convRows with ${nf} filters, ${nv} vectors, unroll ${unroll} and straight widths [${straightWidths}]: filters must be an integer in [1, ${CONV_ROWS_MAX_FILTERS}], vectors in [1, ${CONV_ROWS_MAX_VECTORS}], unroll 1 or 2, widths in [1, ${CONV_ROWS_MAX_WIDTH}]`,
    );
  }
  const params = 18;
  const [img, w, bias, y, channels, kh, kw, dh, dw] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [ldImg, imgPlane, oy0, oy1, ow, filters, ldY, yPlane, relu] = [9, 10, 11, 12, 13, 14, 15, 16, 17];
  let next = params;
  const local = () => next++;
  const locals = (count: number) => Array.from({ length: count }, local);
  // i32: per call, per filter group, per row, per column block, per tap.
  const [groupBytes, rowStep, colStep, straight, groups, lastFilters] = locals(6);
  const [wGroup, yGroup, bGroup, rows, imgRow, yRow, blocks, lastVectors, imgBlock, yBlock] = locals(10);
  // Vectors per row, columns in the last one (0: all 4), and whether the block being stored ends a
  // row whose last vector is partial.
  const [vectors, tail, partial, fullBlocks, fullBytes, pairs] = locals(6);
  const [imgC, imgP, imgQ, wTap, cCount, pCount, qCount] = locals(7);
  const yOffset = locals(nf); // k·yPlane: filter k's plane from yBlock
  const i32Count = next - params;
  const zero = local();
  const keep = local(); // all ones unless relu: act(x) = x & (keep | x > 0 | x ≠ x)
  const bv = locals(nf); // b_k in four lanes
  const wv = locals(nf); // the tap's weight of filter k in four lanes
  // Filter k, columns 4v…4v+3, row r of the block; a block of 2 rows has at most PAIRED_SUMS.
  const acc = locals(Math.max(nf * nv, PAIRED_SUMS));
  const xv = local();
  const wvec = local(); // the tap's weights of the block's filters, a lane each
  const out = local(); // a partial vector being stored
  const v128Count = next - params - i32Count;
  /** Whether blocks of `fc` filters × `vc` vectors run two rows at once (see `PAIRED_SUMS`). */
  const paired = (fc: number, vc: number) => fc * vc * 2 <= PAIRED_SUMS;
  const code = new Code();
  /** Pushes the activation of v128 local `v`. */
  const act = (v: number) =>
    code.localGet(v).localGet(zero).f32x4Gt().localGet(v).localGet(v).f32x4Ne().v128Or().localGet(keep)
      .v128Or()
      .localGet(v).v128And();

  /** The sums of one block of `fc` filters × `vc` vectors × `rc` rows. */
  interface Block {
    readonly fc: number;
    readonly vc: number;
    readonly rc: number;
  }
  const sum = (b: Block, k: number, v: number, r: number) => acc[(r * b.fc + k) * b.vc + v];

  /**
   * One tap of block `b`: weights `wAt` bytes past `wTap`, image `imgAt` bytes past the local
   * `imgBase` (row r of the block: r image rows, `ldImg` bytes, further).
   */
  const tap = (b: Block, wAt: number, imgBase: number, imgAt: number) => {
    code.localGet(wTap).v128Load(wAt).localSet(wvec);
    for (let k = 0; k < b.fc; k++) {
      code.localGet(wvec).localGet(wvec).i8x16Shuffle(LANE_BROADCAST[k]).localSet(wv[k]);
    }
    for (let r = 0; r < b.rc; r++) {
      for (let v = 0; v < b.vc; v++) {
        code.localGet(imgBase);
        if (r > 0) code.localGet(ldImg).i32Add();
        code.v128Load(imgAt + 16 * v).localSet(xv);
        for (let k = 0; k < b.fc; k++) madd(code, relaxed, wv[k], xv, sum(b, k, v, r));
      }
    }
  };
  /** `tap` at `imgQ`, then `imgQ` on by `dw` columns. */
  const loopTap = (b: Block, wAt: number) => {
    tap(b, wAt, imgQ, 0);
    code.localGet(imgQ).localGet(colStep).i32Add().localSet(imgQ);
  };
  /** One kernel row at `imgP` (`kw` taps), `wTap` on to the next. */
  const kernelRow = (b: Block) => {
    for (const width of straightWidths) {
      code.localGet(straight).i32Const(width).i32Eq().if();
      for (let q = 0; q < width; q++) tap(b, tapBytes * q, imgP, 4 * q);
      code.localGet(wTap).i32Const(tapBytes * width).i32Add().localSet(wTap);
      code.else();
    }
    code.localGet(imgP).localSet(imgQ);
    code.localGet(kw).i32Const(unroll === 2 ? 1 : 0).i32ShrU().localSet(qCount);
    repeat(code, qCount, () => {
      for (let u = 0; u < unroll; u++) loopTap(b, tapBytes * u);
      code.localGet(wTap).i32Const(tapBytes * unroll).i32Add().localSet(wTap);
    });
    if (unroll === 2) {
      code.localGet(kw).i32Const(1).i32And().if();
      loopTap(b, 0);
      code.localGet(wTap).i32Const(tapBytes).i32Add().localSet(wTap);
      code.end();
    }
    for (let i = 0; i < straightWidths.length; i++) code.end();
  };

  /**
   * Block `b` at `imgBlock`, `yBlock` (its row r r·`ldImg` and r·`ldY` bytes further): bias, all
   * taps, act, store.
   */
  const block = (b: Block) => {
    for (let r = 0; r < b.rc; r++) {
      for (let k = 0; k < b.fc; k++) {
        for (let v = 0; v < b.vc; v++) code.localGet(bv[k]).localSet(sum(b, k, v, r));
      }
    }
    code.localGet(imgBlock).localSet(imgC).localGet(wGroup).localSet(wTap);
    code.localGet(channels).localSet(cCount);
    repeat(code, cCount, () => {
      code.localGet(imgC).localSet(imgP).localGet(kh).localSet(pCount);
      repeat(code, pCount, () => {
        kernelRow(b);
        code.localGet(imgP).localGet(rowStep).i32Add().localSet(imgP);
      });
      code.localGet(imgC).localGet(imgPlane).i32Add().localSet(imgC);
    });
    for (let r = 0; r < b.rc; r++) {
      for (let k = 0; k < b.fc; k++) {
        for (let v = 0; v < b.vc; v++) {
          const address = () => {
            code.localGet(yBlock);
            if (r > 0) code.localGet(ldY).i32Add();
            if (k > 0) code.localGet(yOffset[k]).i32Add();
          };
          const s = sum(b, k, v, r);
          if (v === b.vc - 1) {
            // The row's last vector when it is partial: lanes 0 … tail − 1 only.
            code.localGet(partial).if();
            act(s).localSet(out);
            for (let lane = 0; lane < 3; lane++) {
              if (lane > 0) code.i32Const(lane).localGet(tail).i32LtU().if();
              address();
              code.localGet(out).f32x4ExtractLane(lane).f32Store(16 * v + 4 * lane);
              if (lane > 0) code.end();
            }
            code.else();
          }
          address();
          act(s).v128Store(16 * v);
          if (v === b.vc - 1) code.end();
        }
      }
    }
  };

  /** Points `imgBlock` and `yBlock` at row r of `imgRow` and `yRow`, `bytes` into the row. */
  const at = (r: number, bytes?: number) => {
    for (const [to, from, ld] of [[imgBlock, imgRow, ldImg], [yBlock, yRow, ldY]]) {
      code.localGet(from);
      if (r > 0) code.localGet(ld).i32Add();
      if (bytes !== undefined) code.localGet(bytes).i32Add();
      code.localSet(to);
    }
  };

  /**
   * The column blocks of `rc` (1 or 2) rows at `imgRow`, `yRow` for `fc` filters: full blocks, then
   * one block of the remaining vectors; a shape that `paired` allows covers both rows at once.
   */
  const rowBlocks = (fc: number, rc: number) => {
    const fullRows = rc === 2 && paired(fc, nv) ? 2 : 1;
    for (let r = 0; r < rc; r += fullRows) {
      at(r);
      code.localGet(fullBlocks).localSet(blocks);
      repeat(code, blocks, () => {
        // partial = tail ≠ 0 and this is the row's last block (blocks counts down to 1).
        code.localGet(tail).i32Const(0).localGet(blocks).i32Const(1).i32Eq().localGet(lastVectors).i32Eqz()
          .i32And().select().localSet(partial);
        block({ fc, vc: nv, rc: fullRows });
        code.localGet(imgBlock).i32Const(16 * nv).i32Add().localSet(imgBlock);
        code.localGet(yBlock).i32Const(16 * nv).i32Add().localSet(yBlock);
      });
    }
    if (nv === 1) return;
    code.localGet(tail).localSet(partial);
    for (let vc = 1; vc < nv; vc++) {
      code.localGet(lastVectors).i32Const(vc).i32Eq().if();
      const restRows = rc === 2 && paired(fc, vc) ? 2 : 1;
      for (let r = 0; r < rc; r += restRows) {
        at(r, fullBytes);
        block({ fc, vc, rc: restRows });
      }
      code.end();
    }
  };

  /**
   * Rows oy0…oy1−1 of a group of `fc` filters: two at a time where a block shape of the group is
   * `paired` (then a last odd row alone), else one at a time.
   */
  const group = (fc: number) => {
    code.localGet(bias).if();
    for (let k = 0; k < fc; k++) code.localGet(bGroup).v128Load32Splat(4 * k).localSet(bv[k]);
    code.else();
    for (let k = 0; k < fc; k++) code.f32Const(0).f32x4Splat().localSet(bv[k]);
    code.end();
    code.localGet(img).localGet(oy0).localGet(ldImg).i32Mul().i32Add().localSet(imgRow);
    code.localGet(yGroup).localGet(oy0).localGet(ldY).i32Mul().i32Add().localSet(yRow);
    // rows = max(oy1 − oy0, 0)
    code.localGet(oy1).localGet(oy0).i32Sub().i32Const(0).localGet(oy0).localGet(oy1).i32LtU().select()
      .localSet(rows);
    // Some block shape of the group pairs rows exactly when its narrowest one (1 vector) does.
    if (paired(fc, 1)) {
      code.localGet(rows).i32Const(1).i32ShrU().localSet(pairs);
      repeat(code, pairs, () => {
        rowBlocks(fc, 2);
        code.localGet(imgRow).localGet(ldImg).i32Add().localGet(ldImg).i32Add().localSet(imgRow);
        code.localGet(yRow).localGet(ldY).i32Add().localGet(ldY).i32Add().localSet(yRow);
      });
      code.localGet(rows).i32Const(1).i32And().localSet(rows);
    }
    repeat(code, rows, () => {
      rowBlocks(fc, 1);
      code.localGet(imgRow).localGet(ldImg).i32Add().localSet(imgRow);
      code.localGet(yRow).localGet(ldY).i32Add().localSet(yRow);
    });
    code.localGet(wGroup).localGet(groupBytes).i32Add().localSet(wGroup);
    code.localGet(yGroup).localGet(yPlane).i32Const(fc).i32Mul().i32Add().localSet(yGroup);
    code.localGet(bGroup).i32Const(4 * fc).i32Add().localSet(bGroup);
  };

  code.localGet(channels).localGet(kh).i32Mul().localGet(kw).i32Mul().i32Const(tapBytes).i32Mul();
  code.localSet(groupBytes);
  code.localGet(dh).localGet(ldImg).i32Mul().localSet(rowStep);
  code.localGet(ow).i32Const(3).i32Add().i32Const(2).i32ShrU().localSet(vectors);
  code.localGet(ow).i32Const(3).i32And().localSet(tail);
  code.localGet(vectors).i32Const(nv).i32DivU().localSet(fullBlocks);
  code.localGet(vectors).i32Const(nv).i32RemU().localSet(lastVectors);
  code.localGet(fullBlocks).i32Const(16 * nv).i32Mul().localSet(fullBytes);
  code.localGet(dw).i32Const(4).i32Mul().localSet(colStep);
  // straight = dw = 1 ? kw : 0
  code.localGet(kw).i32Const(0).localGet(dw).i32Const(1).i32Eq().select().localSet(straight);
  for (let k = 1; k < nf; k++) {
    code.localGet(yPlane).i32Const(k).i32Mul().localSet(yOffset[k]);
  }
  code.f32Const(0).f32x4Splat().localSet(zero);
  code.i32Const(0).localGet(relu).i32Eqz().i32Sub().i32x4Splat().localSet(keep);
  code.localGet(w).localSet(wGroup).localGet(y).localSet(yGroup).localGet(bias).localSet(bGroup);
  code.localGet(filters).i32Const(nf).i32DivU().localSet(groups);
  repeat(code, groups, () => group(nf));
  if (nf > 1) {
    code.localGet(filters).i32Const(nf).i32RemU().localSet(lastFilters);
    for (let fc = 1; fc < nf; fc++) {
      code.localGet(lastFilters).i32Const(fc).i32Eq().if();
      group(fc);
      code.end();
    }
  }
  return {
    export: "convRows",
    params: new Array<ValType>(params).fill(I32),
    results: [],
    locals: [...new Array<ValType>(i32Count).fill(I32), ...new Array<ValType>(v128Count).fill(V128)],
    body: code,
  };
}
