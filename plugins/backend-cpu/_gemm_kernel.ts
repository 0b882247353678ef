/**
 * The GEMM kernels as one WebAssembly module, generated at load time with `_wasm_emitter.ts`.
 * Private. Addresses, strides and `ld*` (row strides) are in bytes; the module imports its memory.
 *
 * **Panels.** A matrix seen as `count` "width" indices by `k` depth indices, element `(w, p)` at
 * `src + w·strideW + p·strideP`, is cut into panels of `width` consecutive `w`, each stored
 * `[k, width]` (depth step p holds the panel's `width` values), zero past `count`. op(A) is packed
 * along its rows in panels of `mr`, op(B) along its columns in panels of `nr`; a B that is already
 * row-major `[k, n]` can also be read in place, a "panel" then being `nr` columns of it with a
 * depth step of `ldb` = n·4 (the columns past n belong to C's padding, which is never read back).
 *
 * **Tiles.** A tile keeps its `mr × nr` block of C in `mr · nr / 4` vector registers for the whole
 * depth loop; each step loads `nr / 4` vectors of B, broadcasts `mr` values of A and does
 * `mr · nr / 4` vector multiply-adds (`f32x4.relaxed_madd`, or `f32x4.mul` then `f32x4.add` for
 * plain SIMD). Exports:
 *
 * - `packA(dst, src, panel0, panel1, count, k, strideW, strideP)` and `packB(…)`: panels
 *   `[panel0, panel1)` of width `mr` and `nr`.
 * - `tile(ap, bp, c, kc, ldc, acc, ldb)`: C[mr × nr] (=, or += when `acc` ≠ 0) A panel · B panel over
 *   `kc` ≥ 1 depth steps.
 * - `block(ap, bp, c, mPanels, nPanels, kc, apStride, bpStride, ldc, acc, lastRows, ldb)`: the
 *   tiles of `mPanels × nPanels` panels, B panel by B panel (a B panel stays in L1 while the A
 *   panels stream from L2); the strides are the distances between consecutive panels, and only
 *   `lastRows` rows of the last A panel are computed.
 * - `copy(dst, src, rows, cols, ldDst, ldSrc)`: a block of `rows × cols` floats.
 * - `dot(a, b, c, mTiles, nTiles, kc, lda, ldb, ldc)`: C[i, j] = Σ_p A[i, p]·B[j, p] for row-major A
 *   `[mTiles·dr, kc]` and B `[nTiles·dc, kc]` (the "NT" product read in place, no packing): each
 *   `dr × dc` tile sums four depth steps per vector lane, then adds the lanes.
 * - `unfold(img, cols, kh, kw, oh, ow, tapY, tapX, rowStep, colStep, ldCols)`: im2col of one
 *   zero-padded image plane: for kernel tap (p, q), cols row `p·kw + q` (at `cols + (p·kw + q)·ldCols`)
 *   receives the `oh × ow` values at `img + p·tapY + q·tapX + oy·rowStep + ox·colStep`, row after
 *   row. Contiguous (`colStep` = 4) rows are copied a vector at a time.
 * - `fold(img, cols, …)`: the adjoint, same arguments: adds those cols values onto the plane.
 * - `conv(img, offs, wp, y, p0, p1, k, plane, ow, colStep, rowStep, panels, og)`: a convolution
 *   without im2col ("implicit GEMM") for output positions `[p0, p1)` of one image: a tile of `mr`
 *   positions keeps their `mr × nr` outputs (nr output channels) in registers; each of the `k`
 *   depth steps loads the tap's byte offset from `offs` (i32s), broadcasts the `mr` image values at
 *   `base_r + offset` (base_r: the padded image at position r, `oy·rowStep + ox·colStep` from
 *   `img`) and multiplies them by the tap's `nr` weights from panel-major `wp` (`[panels, k, nr]`,
 *   zero past `og`). Outputs go to `y + (o·plane + position)·4`, the first `og` channels only.
 * - `convGrad(img, offs, dy, part, images, imgStride, dyStride, rTiles, cTiles, oh, ow, rowStep,
 *   plane, ldPart)`: a convolution's filter gradient without im2col, for stride-1 columns: for each
 *   image, `part[f, t] += Σ_(oy, ox) dy[f, oy·ow + ox] · img[oy·rowStep + offs[t] + ox·4]` over `dr × dc`
 *   tiles of filters × taps, four output columns per vector lane (the last `ow mod 4` one by one).
 * @module
 */
import {
  Code,
  encodeModule,
  F32,
  type FunctionSpec,
  I32,
  madd,
  repeat,
  V128,
  type ValType,
} from "./_wasm_emitter.ts";
import { simdKernelFunctions } from "./_simd_kernels.ts";
import { winogradKernelFunctions } from "./_winograd_kernel.ts";
import { convRowsFunction } from "./_conv_rows_kernel.ts";
import { GEMV_MAX_ROWS, gemvFunction } from "./_gemv_kernel.ts";

/** Shape and flavour of a generated kernel. */
export interface GemmKernelShape {
  /** Rows of a tile (A panel width). */
  readonly mr: number;
  /** Columns of a tile (B panel width), a multiple of 4. */
  readonly nr: number;
  /** Depth steps per loop iteration, a power of 2 (a remainder loop does the rest). */
  readonly unroll: number;
  /** Rows and columns of a `dot` tile. */
  readonly dr: number;
  readonly dc: number;
  /** Use `f32x4.relaxed_madd` (relaxed SIMD) instead of `f32x4.mul` + `f32x4.add`. */
  readonly relaxed: boolean;
}

/**
 * The shapes `gemm` uses, the fastest measured on x86-64 (16 vector registers): 6 × 8 tiles with
 * fused multiply-adds (12 accumulators, 2 B vectors, 1 A broadcast), 4 × 8 without them (the
 * product needs a temporary register, and 6 × 8 spills); depth unrolled 8 times; 3 × 3 dot tiles.
 */
export const KERNEL_SHAPES: Readonly<Record<"relaxed" | "plain", Omit<GemmKernelShape, "relaxed">>> = {
  relaxed: { mr: 6, nr: 8, unroll: 8, dr: 3, dc: 3 },
  plain: { mr: 4, nr: 8, unroll: 8, dr: 3, dc: 3 },
};

/** Pages (64 KiB) a kernel's memory may grow to: 4 GiB, the 32-bit address space. */
export const MAX_PAGES = 65536;

/**
 * Most rows of an A panel that the tile broadcasts through one pointer. V8 without a trap handler
 * (Deno's) checks every load against a limit that depends on its constant offset. The tile advances
 * its pointers every depth step, so each offset recurs and V8 keeps its limit (and base) in a
 * register: a broadcast costs a compare-and-branch and the load, where an address computed per
 * load (the tile before) cost one more instruction. Six offsets from one pointer spilled registers;
 * 6 rows as 3 + 3 did not, and ran 1024³ 7–11% faster on two threads when another tenant slowed
 * the machine (median GFLOP/s of the old tile 47–54) and the same in calm phases (65–85).
 */
const A_OFFSETS_PER_POINTER = 4;

/** `tile` for the first `rows` rows of an A panel of width `mr` (the last panel may be partial). */
function tileFunction(shape: GemmKernelShape, rows: number): FunctionSpec {
  const { mr, nr, unroll, relaxed } = shape;
  const nv = nr / 4;
  const [ap, bp, c, kc, ldc, acc, ldb, row, count] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const sum = (r: number, v: number) => 9 + r * nv + v;
  const bv = (v: number) => 9 + rows * nv + v;
  const a = 9 + rows * nv + nv;
  // Row r of A is read through pointer ⌊r / per⌋ (ap, then ap + 4·per, …) at offset 4·(r mod per),
  // the panel's rows shared evenly between the fewest pointers (6 rows: 3 + 3).
  const per = Math.ceil(mr / Math.ceil(mr / A_OFFSETS_PER_POINTER));
  const groups = Math.ceil(rows / per);
  const aPointer = (g: number) => (g === 0 ? ap : a + g);
  const locals: ValType[] = [
    I32,
    I32,
    ...new Array<ValType>(rows * nv + nv + 1).fill(V128),
    ...new Array<ValType>(groups - 1).fill(I32),
  ];
  const code = new Code();
  for (let g = 1; g < groups; g++) {
    code.localGet(ap).i32Const(g * per * 4).i32Add().localSet(aPointer(g));
  }
  /** `n` depth steps; every step advances the B and A pointers. */
  const steps = (n: number) => {
    for (let u = 0; u < n; u++) {
      for (let v = 0; v < nv; v++) code.localGet(bp).v128Load(16 * v).localSet(bv(v));
      code.localGet(bp).localGet(ldb).i32Add().localSet(bp);
      for (let r = 0; r < rows; r++) {
        code.localGet(aPointer(Math.floor(r / per))).v128Load32Splat((r % per) * 4).localSet(a);
        for (let v = 0; v < nv; v++) madd(code, relaxed, a, bv(v), sum(r, v));
      }
      for (let g = 0; g < groups; g++) {
        code.localGet(aPointer(g)).i32Const(mr * 4).i32Add().localSet(aPointer(g));
      }
    }
  };
  // ⌊kc / unroll⌋ unrolled iterations, then kc mod unroll single steps.
  code.localGet(kc).i32Const(Math.log2(unroll)).i32ShrU().localSet(count);
  repeat(code, count, () => steps(unroll));
  code.localGet(kc).i32Const(unroll - 1).i32And().localSet(count);
  repeat(code, count, () => steps(1));
  // Add C's old values when accumulating, then store.
  code.localGet(acc).if();
  code.localGet(c).localSet(row);
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < nv; v++) {
      code.localGet(sum(r, v)).localGet(row).v128Load(16 * v).f32x4Add().localSet(sum(r, v));
    }
    code.localGet(row).localGet(ldc).i32Add().localSet(row);
  }
  code.end();
  code.localGet(c).localSet(row);
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < nv; v++) code.localGet(row).localGet(sum(r, v)).v128Store(16 * v);
    if (r + 1 < rows) code.localGet(row).localGet(ldc).i32Add().localSet(row);
  }
  return {
    export: rows === mr ? "tile" : undefined,
    params: new Array<ValType>(7).fill(I32),
    results: [],
    locals,
    body: code,
  };
}

/** `block`; `tile` for `r` rows is function `r - 1`. */
function blockFunction(shape: GemmKernelShape): FunctionSpec {
  const { mr, nr } = shape;
  const [ap0, bp, cj, mPanels, nPanels, kc, apStride, bpStride, ldc, acc, lastRows, ldb] = [
    ...new Array(12).keys(),
  ];
  const [i, ap, ci] = [12, 13, 14];
  const code = new Code();
  const tile = (rows: number) =>
    code.localGet(ap).localGet(bp).localGet(ci).localGet(kc).localGet(ldc).localGet(acc).localGet(ldb)
      .call(rows - 1);
  code.loop();
  code.localGet(ap0).localSet(ap).localGet(cj).localSet(ci);
  // mPanels − 1 full tiles…
  code.localGet(mPanels).i32Const(1).i32Sub().localSet(i);
  repeat(code, i, () => {
    tile(mr);
    code.localGet(ap).localGet(apStride).i32Add().localSet(ap);
    code.localGet(ci).localGet(ldc).i32Const(mr).i32Mul().i32Add().localSet(ci);
  });
  // …then the last one with `lastRows` rows.
  for (let rows = 1; rows <= mr; rows++) {
    code.localGet(lastRows).i32Const(rows).i32Eq().if();
    tile(rows);
    code.end();
  }
  code.localGet(bp).localGet(bpStride).i32Add().localSet(bp);
  code.localGet(cj).i32Const(nr * 4).i32Add().localSet(cj);
  code.localGet(nPanels).i32Const(1).i32Sub().localTee(nPanels).brIf(0);
  code.end();
  return {
    export: "block",
    params: new Array<ValType>(12).fill(I32),
    results: [],
    locals: [I32, I32, I32],
    body: code,
  };
}

/**
 * `pack…(dst, src, panel0, panel1, count, k, strideW, strideP)` for panels of `width`. A full panel
 * whose rows are contiguous (`strideW` = 4) is copied a vector at a time; otherwise column by
 * column, zeros past `count`.
 */
function packFunction(width: number, name: string): FunctionSpec {
  const [dst, src, panel, panel1, count, k, strideW, strideP] = [...new Array(8).keys()];
  const [d, s, p, w, valid, dd, w0] = [8, 9, 10, 11, 12, 13, 14];
  const row = width * 4;
  const code = new Code();
  code.block().loop();
  code.localGet(panel).localGet(panel1).i32GeU().brIf(1);
  code.localGet(dst).localGet(panel).localGet(k).i32Mul().i32Const(row).i32Mul().i32Add().localSet(d);
  code.localGet(panel).i32Const(width).i32Mul().localSet(w0);
  // valid = min(width, count − w0)
  code.localGet(count).localGet(w0).i32Sub().localSet(valid);
  code.i32Const(width).localGet(valid).localGet(valid).i32Const(width).i32GeU().select().localSet(valid);
  code.localGet(k).localSet(p);
  code.localGet(strideW).i32Const(4).i32Eq().localGet(valid).i32Const(width).i32Eq().i32And().if();
  {
    // Contiguous rows: copy `width` floats per depth step.
    code.localGet(src).localGet(w0).i32Const(4).i32Mul().i32Add().localSet(s);
    repeat(code, p, () => {
      const vectors = Math.floor(width / 4);
      for (let v = 0; v < vectors; v++) code.localGet(d).localGet(s).v128Load(16 * v).v128Store(16 * v);
      for (let r = 4 * vectors; r < width; r++) code.localGet(d).localGet(s).f32Load(4 * r).f32Store(4 * r);
      code.localGet(d).i32Const(row).i32Add().localSet(d);
      code.localGet(s).localGet(strideP).i32Add().localSet(s);
    });
  }
  code.else();
  {
    // Column by column: `valid` gathered columns, then zeros.
    code.i32Const(0).localSet(w).loop();
    code.localGet(d).localGet(w).i32Const(4).i32Mul().i32Add().localSet(dd);
    code.localGet(k).localSet(p);
    code.localGet(w).localGet(valid).i32LtU().if();
    code.localGet(src).localGet(w0).localGet(w).i32Add().localGet(strideW).i32Mul().i32Add().localSet(s);
    repeat(code, p, () => {
      code.localGet(dd).localGet(s).f32Load().f32Store();
      code.localGet(dd).i32Const(row).i32Add().localSet(dd);
      code.localGet(s).localGet(strideP).i32Add().localSet(s);
    });
    code.else();
    repeat(code, p, () => {
      code.localGet(dd).f32Const(0).f32Store();
      code.localGet(dd).i32Const(row).i32Add().localSet(dd);
    });
    code.end();
    code.localGet(w).i32Const(1).i32Add().localTee(w).i32Const(width).i32LtU().brIf(0);
    code.end();
  }
  code.end();
  code.localGet(panel).i32Const(1).i32Add().localSet(panel);
  code.br(0);
  code.end().end();
  return {
    export: name,
    params: new Array<ValType>(8).fill(I32),
    results: [],
    locals: new Array<ValType>(7).fill(I32),
    body: code,
  };
}

/** `copy(dst, src, rows, cols, ldDst, ldSrc)`: a `rows × cols` block of floats, a vector at a time. */
function copyFunction(): FunctionSpec {
  const [dst, src, rows, cols, ldDst, ldSrc] = [...new Array(6).keys()];
  const [d, s, count] = [6, 7, 8];
  const code = new Code();
  repeat(code, rows, () => {
    code.localGet(dst).localSet(d).localGet(src).localSet(s);
    code.localGet(cols).i32Const(2).i32ShrU().localSet(count);
    repeat(code, count, () => {
      code.localGet(d).localGet(s).v128Load().v128Store();
      code.localGet(d).i32Const(16).i32Add().localSet(d).localGet(s).i32Const(16).i32Add().localSet(s);
    });
    code.localGet(cols).i32Const(3).i32And().localSet(count);
    repeat(code, count, () => {
      code.localGet(d).localGet(s).f32Load().f32Store();
      code.localGet(d).i32Const(4).i32Add().localSet(d).localGet(s).i32Const(4).i32Add().localSet(s);
    });
    code.localGet(dst).localGet(ldDst).i32Add().localSet(dst);
    code.localGet(src).localGet(ldSrc).i32Add().localSet(src);
  });
  return {
    export: "copy",
    params: new Array<ValType>(6).fill(I32),
    results: [],
    locals: [I32, I32, I32],
    body: code,
  };
}

/** `dot` with `dr × dc` tiles. */
function dotFunction(shape: GemmKernelShape): FunctionSpec {
  const { dr, dc, relaxed } = shape;
  const [a, b, c, mTiles, nTiles, kc, lda, ldb, ldc] = [...new Array(9).keys()];
  let next = 9;
  const [ti, tj, count, aRow, bCol, cRow, cPtr] = [next++, next++, next++, next++, next++, next++, next++];
  const pa = Array.from({ length: dr }, () => next++);
  const pb = Array.from({ length: dc }, () => next++);
  const i32Count = next - 9;
  const acc = Array.from({ length: dr * dc }, () => next++);
  const av = Array.from({ length: dr }, () => next++);
  const bv = next++;
  const v128Count = next - 9 - i32Count;
  const sums = Array.from({ length: dr * dc }, () => next++);
  const code = new Code();
  code.localGet(a).localSet(aRow).localGet(c).localSet(cRow).localGet(mTiles).localSet(ti);
  code.loop();
  code.localGet(b).localSet(bCol).localGet(cRow).localSet(cPtr).localGet(nTiles).localSet(tj);
  code.loop();
  for (let i = 0; i < dr; i++) {
    code.localGet(aRow).localGet(lda).i32Const(i).i32Mul().i32Add().localSet(pa[i]);
  }
  for (let j = 0; j < dc; j++) {
    code.localGet(bCol).localGet(ldb).i32Const(j).i32Mul().i32Add().localSet(pb[j]);
  }
  for (const s of acc) code.f32Const(0).f32x4Splat().localSet(s);
  // Four depth steps per lane…
  code.localGet(kc).i32Const(2).i32ShrU().localSet(count);
  repeat(code, count, () => {
    for (let i = 0; i < dr; i++) code.localGet(pa[i]).v128Load().localSet(av[i]);
    for (let j = 0; j < dc; j++) {
      code.localGet(pb[j]).v128Load().localSet(bv);
      for (let i = 0; i < dr; i++) madd(code, relaxed, av[i], bv, acc[i * dc + j]);
    }
    for (const p of [...pa, ...pb]) code.localGet(p).i32Const(16).i32Add().localSet(p);
  });
  // …add the lanes, then the last kc mod 4 steps one by one.
  for (let t = 0; t < dr * dc; t++) {
    code.localGet(acc[t]).f32x4ExtractLane(0).localGet(acc[t]).f32x4ExtractLane(1).f32Add();
    code.localGet(acc[t]).f32x4ExtractLane(2).localGet(acc[t]).f32x4ExtractLane(3).f32Add().f32Add();
    code.localSet(sums[t]);
  }
  code.localGet(kc).i32Const(3).i32And().localSet(count);
  repeat(code, count, () => {
    for (let i = 0; i < dr; i++) {
      for (let j = 0; j < dc; j++) {
        const t = sums[i * dc + j];
        code.localGet(t).localGet(pa[i]).f32Load().localGet(pb[j]).f32Load().f32Mul().f32Add().localSet(t);
      }
    }
    for (const p of [...pa, ...pb]) code.localGet(p).i32Const(4).i32Add().localSet(p);
  });
  for (let i = 0; i < dr; i++) {
    for (let j = 0; j < dc; j++) {
      code.localGet(cPtr).localGet(ldc).i32Const(i).i32Mul().i32Add().localGet(sums[i * dc + j]).f32Store(
        4 * j,
      );
    }
  }
  code.localGet(bCol).localGet(ldb).i32Const(dc).i32Mul().i32Add().localSet(bCol);
  code.localGet(cPtr).i32Const(dc * 4).i32Add().localSet(cPtr);
  code.localGet(tj).i32Const(1).i32Sub().localTee(tj).brIf(0);
  code.end();
  code.localGet(aRow).localGet(lda).i32Const(dr).i32Mul().i32Add().localSet(aRow);
  code.localGet(cRow).localGet(ldc).i32Const(dr).i32Mul().i32Add().localSet(cRow);
  code.localGet(ti).i32Const(1).i32Sub().localTee(ti).brIf(0);
  code.end();
  return {
    export: "dot",
    params: new Array<ValType>(9).fill(I32),
    results: [],
    locals: [
      ...new Array<ValType>(i32Count).fill(I32),
      ...new Array<ValType>(v128Count).fill(V128),
      ...new Array<ValType>(dr * dc).fill(F32),
    ],
    body: code,
  };
}

/**
 * `unfold` (`fold` false) or `fold`: walks kernel taps, output rows and output columns of one image
 * plane; see the module comment.
 */
function unfoldFunction(fold: boolean): FunctionSpec {
  const [img, cols, kh, kw, oh, ow, tapY, tapX, rowStep, colStep, ldCols] = [...new Array(11).keys()];
  const [p, q, oy, ox, s, d, sq, dRow] = [11, 12, 13, 14, 15, 16, 17, 18];
  const code = new Code();
  /** One element or vector: image at `s`, cols at `d`. */
  const move = (vector: boolean) => {
    const load = (addr: number) => vector ? code.localGet(addr).v128Load() : code.localGet(addr).f32Load();
    if (fold) {
      code.localGet(s);
      load(s);
      load(d);
      if (vector) code.f32x4Add().v128Store();
      else code.f32Add().f32Store();
    } else {
      code.localGet(d);
      load(s);
      if (vector) code.v128Store();
      else code.f32Store();
    }
  };
  code.localGet(kh).localSet(p);
  repeat(code, p, () => {
    code.localGet(img).localSet(sq);
    code.localGet(kw).localSet(q);
    repeat(code, q, () => {
      code.localGet(sq).localSet(dRow); // start of this tap's first image row
      code.localGet(cols).localSet(d);
      code.localGet(oh).localSet(oy);
      repeat(code, oy, () => {
        code.localGet(dRow).localSet(s);
        code.localGet(colStep).i32Const(4).i32Eq().if();
        {
          code.localGet(ow).i32Const(2).i32ShrU().localSet(ox);
          repeat(code, ox, () => {
            move(true);
            code.localGet(s).i32Const(16).i32Add().localSet(s);
            code.localGet(d).i32Const(16).i32Add().localSet(d);
          });
          code.localGet(ow).i32Const(3).i32And().localSet(ox);
        }
        code.else();
        code.localGet(ow).localSet(ox);
        code.end();
        repeat(code, ox, () => {
          move(false);
          code.localGet(s).localGet(colStep).i32Add().localSet(s);
          code.localGet(d).i32Const(4).i32Add().localSet(d);
        });
        code.localGet(dRow).localGet(rowStep).i32Add().localSet(dRow);
      });
      code.localGet(sq).localGet(tapX).i32Add().localSet(sq);
      code.localGet(cols).localGet(ldCols).i32Add().localSet(cols);
    });
    code.localGet(img).localGet(tapY).i32Add().localSet(img);
  });
  return {
    export: fold ? "fold" : "unfold",
    params: new Array<ValType>(11).fill(I32),
    results: [],
    locals: new Array<ValType>(8).fill(I32),
    body: code,
  };
}

/** `conv`, the implicit-GEMM convolution of one image's output positions; see the module comment. */
function convFunction(shape: GemmKernelShape): FunctionSpec {
  const { mr, nr, relaxed } = shape;
  const nv = nr / 4;
  const [img, offs, wp, y, p0, p1, k, plane, ow, colStep, rowStep, panels, og] = [...new Array(13).keys()];
  let next = 13;
  const [pos, oy, ox, rowBase, rows, panel, wptr, optr, count, off, yo, ch] = Array.from(
    { length: 12 },
    () => next++,
  );
  const base = Array.from({ length: mr }, () => next++);
  const i32Count = next - 13;
  const acc = Array.from({ length: mr * nv }, () => next++);
  const bv = Array.from({ length: nv }, () => next++);
  const a = next++;
  const v128Count = next - 13 - i32Count;
  const code = new Code();
  // Running position state: oy, ox and the row's base address.
  code.localGet(p0).localGet(ow).i32DivU().localSet(oy);
  code.localGet(p0).localGet(ow).i32RemU().localSet(ox);
  code.localGet(img).localGet(oy).localGet(rowStep).i32Mul().i32Add().localSet(rowBase);
  code.localGet(p0).localSet(pos);
  code.block().loop();
  code.localGet(pos).localGet(p1).i32GeU().brIf(1);
  // rows = min(mr, p1 − pos)
  code.localGet(p1).localGet(pos).i32Sub().localSet(rows);
  code.i32Const(mr).localGet(rows).localGet(rows).i32Const(mr).i32GeU().select().localSet(rows);
  // Base addresses of the tile's positions; past `rows` they repeat the last valid one.
  for (let r = 0; r < mr; r++) {
    if (r === 0) code.localGet(rowBase).localGet(ox).localGet(colStep).i32Mul().i32Add().localSet(base[0]);
    else {
      code.localGet(rows).i32Const(r + 1).i32GeU().if();
      code.localGet(rowBase).localGet(ox).localGet(colStep).i32Mul().i32Add().localSet(base[r]);
      code.else();
      code.localGet(base[r - 1]).localSet(base[r]);
      code.end();
    }
    // Advance to the next position while inside the tile.
    code.localGet(rows).i32Const(r + 1).i32GeU().if();
    code.localGet(ox).i32Const(1).i32Add().localTee(ox).localGet(ow).i32Eq().if();
    code.i32Const(0).localSet(ox);
    code.localGet(rowBase).localGet(rowStep).i32Add().localSet(rowBase);
    code.end();
    code.end();
  }
  // Every panel of nr output channels.
  code.i32Const(0).localSet(panel);
  code.loop();
  for (const s of acc) code.f32Const(0).f32x4Splat().localSet(s);
  code.localGet(wp).localGet(panel).localGet(k).i32Mul().i32Const(nr * 4).i32Mul().i32Add().localSet(wptr);
  code.localGet(offs).localSet(optr);
  code.localGet(k).localSet(count);
  repeat(code, count, () => {
    code.localGet(optr).i32Load().localSet(off);
    code.localGet(optr).i32Const(4).i32Add().localSet(optr);
    for (let v = 0; v < nv; v++) code.localGet(wptr).v128Load(16 * v).localSet(bv[v]);
    code.localGet(wptr).i32Const(nr * 4).i32Add().localSet(wptr);
    for (let r = 0; r < mr; r++) {
      code.localGet(base[r]).localGet(off).i32Add().v128Load32Splat().localSet(a);
      for (let v = 0; v < nv; v++) madd(code, relaxed, a, bv[v], acc[r * nv + v]);
    }
  });
  // Store channel by channel: the tile's positions are consecutive in each output plane.
  code.localGet(y).localGet(panel).i32Const(nr).i32Mul().localGet(plane).i32Mul().localGet(pos).i32Add()
    .i32Const(4).i32Mul().i32Add().localSet(yo);
  code.localGet(panel).i32Const(nr).i32Mul().localSet(ch);
  for (let j = 0; j < nr; j++) {
    code.localGet(ch).localGet(og).i32LtU().if();
    for (let r = 0; r < mr; r++) {
      const store = () =>
        code.localGet(yo).localGet(acc[r * nv + (j >> 2)]).f32x4ExtractLane(j & 3).f32Store(4 * r);
      if (r === 0) store();
      else {
        code.localGet(rows).i32Const(r + 1).i32GeU().if();
        store();
        code.end();
      }
    }
    code.end();
    code.localGet(yo).localGet(plane).i32Const(4).i32Mul().i32Add().localSet(yo);
    code.localGet(ch).i32Const(1).i32Add().localSet(ch);
  }
  code.localGet(panel).i32Const(1).i32Add().localTee(panel).localGet(panels).i32LtU().brIf(0);
  code.end();
  code.localGet(pos).localGet(rows).i32Add().localSet(pos);
  code.br(0);
  code.end().end();
  return {
    export: "conv",
    params: new Array<ValType>(13).fill(I32),
    results: [],
    locals: [...new Array<ValType>(i32Count).fill(I32), ...new Array<ValType>(v128Count).fill(V128)],
    body: code,
  };
}

/** `convGrad`, the filter gradient of a convolution without im2col; see the module comment. */
function convGradFunction(shape: GemmKernelShape): FunctionSpec {
  const { dr, dc, relaxed } = shape;
  const [img, offs, dy, part, images, imgStride, dyStride, rTiles, cTiles, oh, ow, rowStep, plane, ldPart] = [
    ...new Array(14).keys(),
  ];
  let next = 14;
  const [ti, tj, oy, count, xrow, dyrow, pp] = Array.from({ length: 7 }, () => next++);
  const pa = Array.from({ length: dr }, () => next++);
  const pb = Array.from({ length: dc }, () => next++);
  const i32Count = next - 14;
  const acc = Array.from({ length: dr * dc }, () => next++);
  const av = Array.from({ length: dr }, () => next++);
  const bv = next++;
  const v128Count = next - 14 - i32Count;
  const sums = Array.from({ length: dr * dc }, () => next++);
  const code = new Code();
  repeat(code, images, () => {
    code.i32Const(0).localSet(ti).loop();
    code.i32Const(0).localSet(tj).loop();
    for (const a of acc) code.f32Const(0).f32x4Splat().localSet(a);
    for (const t of sums) code.f32Const(0).localSet(t);
    code.localGet(img).localSet(xrow);
    code.localGet(dy).localGet(ti).i32Const(dr).i32Mul().localGet(plane).i32Mul().i32Const(4).i32Mul()
      .i32Add()
      .localSet(dyrow);
    code.localGet(oh).localSet(oy);
    repeat(code, oy, () => {
      for (let i = 0; i < dr; i++) {
        code.localGet(dyrow).localGet(plane).i32Const(4 * i).i32Mul().i32Add().localSet(pa[i]);
      }
      for (let j = 0; j < dc; j++) {
        code.localGet(xrow).localGet(offs).localGet(tj).i32Const(dc * 4).i32Mul().i32Add().i32Load(4 * j)
          .i32Add().localSet(pb[j]);
      }
      code.localGet(ow).i32Const(2).i32ShrU().localSet(count);
      repeat(code, count, () => {
        for (let i = 0; i < dr; i++) code.localGet(pa[i]).v128Load().localSet(av[i]);
        for (let j = 0; j < dc; j++) {
          code.localGet(pb[j]).v128Load().localSet(bv);
          for (let i = 0; i < dr; i++) madd(code, relaxed, av[i], bv, acc[i * dc + j]);
        }
        for (const p of [...pa, ...pb]) code.localGet(p).i32Const(16).i32Add().localSet(p);
      });
      code.localGet(ow).i32Const(3).i32And().localSet(count);
      repeat(code, count, () => {
        for (let i = 0; i < dr; i++) {
          for (let j = 0; j < dc; j++) {
            const t = sums[i * dc + j];
            code.localGet(t).localGet(pa[i]).f32Load().localGet(pb[j]).f32Load().f32Mul().f32Add().localSet(
              t,
            );
          }
        }
        for (const p of [...pa, ...pb]) code.localGet(p).i32Const(4).i32Add().localSet(p);
      });
      code.localGet(xrow).localGet(rowStep).i32Add().localSet(xrow);
      code.localGet(dyrow).localGet(ow).i32Const(4).i32Mul().i32Add().localSet(dyrow);
    });
    // part[ti·dr + i, tj·dc + j] += the lanes and the scalar sums.
    code.localGet(part).localGet(ti).i32Const(dr).i32Mul().localGet(ldPart).i32Mul().i32Add()
      .localGet(tj).i32Const(dc * 4).i32Mul().i32Add().localSet(pp);
    for (let i = 0; i < dr; i++) {
      for (let j = 0; j < dc; j++) {
        const a = acc[i * dc + j], t = sums[i * dc + j];
        code.localGet(pp).localGet(ldPart).i32Const(i).i32Mul().i32Add();
        code.localGet(pp).localGet(ldPart).i32Const(i).i32Mul().i32Add().f32Load(4 * j);
        code.localGet(a).f32x4ExtractLane(0).localGet(a).f32x4ExtractLane(1).f32Add();
        code.localGet(a).f32x4ExtractLane(2).localGet(a).f32x4ExtractLane(3).f32Add().f32Add();
        code.localGet(t).f32Add().f32Add().f32Store(4 * j);
      }
    }
    code.localGet(tj).i32Const(1).i32Add().localTee(tj).localGet(cTiles).i32LtU().brIf(0);
    code.end();
    code.localGet(ti).i32Const(1).i32Add().localTee(ti).localGet(rTiles).i32LtU().brIf(0);
    code.end();
    code.localGet(img).localGet(imgStride).i32Add().localSet(img);
    code.localGet(dy).localGet(dyStride).i32Add().localSet(dy);
  });
  return {
    export: "convGrad",
    params: new Array<ValType>(14).fill(I32),
    results: [],
    locals: [
      ...new Array<ValType>(i32Count).fill(I32),
      ...new Array<ValType>(v128Count).fill(V128),
      ...new Array<ValType>(dr * dc).fill(F32),
    ],
    body: code,
  };
}

/**
 * The module's bytes for a kernel shape; it imports `env.memory` (shared or not, up to 4 GiB).
 *
 * @throws {RangeError} If `nr` is not a positive multiple of 4, `unroll` not a power of 2, or
 * `mr`, `dr` or `dc` not a positive integer.
 */
export function gemmKernelBytes(shape: GemmKernelShape, options: { shared: boolean }): Uint8Array {
  const { mr, nr, unroll, dr, dc } = shape;
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  if (
    !(positive(nr) && nr % 4 === 0) || !(positive(unroll) && (unroll & (unroll - 1)) === 0) ||
    !positive(mr) || !positive(dr) || !positive(dc)
  ) {
    throw new RangeError(
      `Cannot generate a GEMM kernel for ${
        JSON.stringify(shape)
      }: mr, dr and dc must be positive integers, unroll a power of 2 and nr a positive multiple of 4`,
    );
  }
  return encodeModule({
    memory: { initial: 1, maximum: MAX_PAGES, shared: options.shared },
    functions: [
      ...Array.from({ length: mr }, (_, r) => tileFunction(shape, r + 1)),
      blockFunction(shape),
      packFunction(mr, "packA"),
      packFunction(nr, "packB"),
      dotFunction(shape),
      copyFunction(),
      unfoldFunction(false),
      unfoldFunction(true),
      convFunction(shape),
      convGradFunction(shape),
      ...Array.from(
        { length: GEMV_MAX_ROWS },
        (_, r) => gemvFunction({ relaxed: shape.relaxed, rows: r + 1 }),
      ),
      ...simdKernelFunctions(),
      convRowsFunction({ relaxed: shape.relaxed }),
      ...winogradKernelFunctions(),
    ],
  });
}

/**
 * Whether this runtime validates 128-bit SIMD (`relaxed: false`) or relaxed SIMD: a one-function probe
 * module with the instructions that set the two kernels apart (cheaper than validating the kernels).
 */
export function supportsKernel(relaxed: boolean): boolean {
  const body = new Code().i32Const(0).v128Load().i32Const(16).v128Load32Splat().i32Const(32).v128Load();
  if (relaxed) body.f32x4RelaxedMadd();
  else body.f32x4Mul().f32x4Add();
  const probe: FunctionSpec = { export: "probe", params: [], results: [V128], locals: [], body };
  try {
    return WebAssembly.validate(
      encodeModule({ memory: { initial: 1, maximum: 1, shared: false }, functions: [probe] }) as BufferSource,
    );
  } catch {
    return false;
  }
}
