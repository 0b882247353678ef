/**
 * Elementwise, pooling and reduction kernels in WebAssembly SIMD, generated at load time with
 * `_wasm_emitter.ts`. Private. Pointers are byte addresses of float32 arrays in the imported memory,
 * 4-byte aligned (vectors are loaded and stored unaligned); counts are element counts, any value from 0
 * up (four lanes at a time, then the rest one by one). All parameters are i32 except `axpby`'s two
 * scalars; no function returns a value or calls another, so the list can go anywhere in a module.
 *
 * - `relu(x, y, n)`: y[i] = max(x[i], 0) as `Math.max` (NaN stays NaN, as in TensorFlow.js and
 *   PyTorch; −0 gives +0); y may be x.
 * - `reluGrad(dy, x, dx, n)`: dx[i] = x[i] > 0 ? dy[i] : 0.
 * - `add(a, b, y, n)`, `sub(…)`, `mul(…)`: y[i] = a[i] ∘ b[i].
 * - `axpby(x, y, out, n, alpha, beta)`: out[i] = alpha·x[i] + beta·y[i] (f32 `alpha`, `beta`; a
 *   product then a sum, both rounded to float32).
 * - `biasAdd(x, bias, y, images, channels, plane)`: y[(b·channels + c)·plane + i] = x[…] + bias[c]
 *   (NCHW).
 * - `maxPool(x, y, planes, h, w, oh, ow, kh, kw, sh, sw)`: for each of `planes` planes (`h × w` at
 *   x + p·h·w·4, `oh × ow` at y + p·oh·ow·4), y[oy, ox] = the first maximum, in row-major order, of the
 *   `kh × kw` window at (oy·sh, ox·sw): `m = x₀; for each v: m = v > m ? v : m`. No padding: the caller
 *   keeps windows inside the plane; y must not overlap x. Column stride 2 with 2- or 3-wide windows
 *   (2 × 2/2, AlexNet's overlapping 3 × 3/2; any kh and sh) takes a vector path, four outputs per step,
 *   that reads only inside the windows and folds them in the same order with `f32x4.pmax`, so it is
 *   bit-identical to that rule (NaN and ±0 included); rows of fewer than four outputs and every other
 *   geometry go one window at a time.
 * - `maxPoolGrad2x2(x, dy, dx, planes, h, w, oh, ow)`: the gradient of that 2 × 2, stride-2 pool: each
 *   window's dy goes to the position `maxPool` took its maximum from, every other dx (the rest of the
 *   window, and the odd last row and column outside all windows) is 0. Writes all of dx; 2·oh ≤ h and
 *   2·ow ≤ w.
 * - `sumRows(x, y, rows, cols)`: y[j] = Σ_r x[r·cols + j], column sums (a dense layer's bias gradient).
 * - `sumPlanes(x, y, images, channels, plane)`: y[c] = Σ_b Σ_i x[(b·channels + c)·plane + i] (a
 *   convolution's bias gradient); four partial sums per plane, added at the end.
 *
 * Sums are float32: `sumRows` adds row after row; `sumPlanes` keeps four lane sums and one for each
 * plane's last plane mod 4 values, and adds them at the end.
 * @module
 */
import { Code, F32, type FunctionSpec, I32, repeat, V128, type ValType } from "./_wasm_emitter.ts";

/** The functions of `simdKernelFunctions` as exports of an instance; arguments as described above. */
export interface SimdExports {
  relu(x: number, y: number, n: number): void;
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  add(a: number, b: number, y: number, n: number): void;
  sub(a: number, b: number, y: number, n: number): void;
  mul(a: number, b: number, y: number, n: number): void;
  axpby(x: number, y: number, out: number, n: number, alpha: number, beta: number): void;
  biasAdd(x: number, bias: number, y: number, images: number, channels: number, plane: number): void;
  maxPool(
    x: number,
    y: number,
    planes: number,
    h: number,
    w: number,
    oh: number,
    ow: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
  ): void;
  maxPoolGrad2x2(
    x: number,
    dy: number,
    dx: number,
    planes: number,
    h: number,
    w: number,
    oh: number,
    ow: number,
  ): void;
  sumRows(x: number, y: number, rows: number, cols: number): void;
  sumPlanes(x: number, y: number, images: number, channels: number, plane: number): void;
}

/** `local += bytes` for a pointer local. */
function advance(code: Code, local: number, bytes: number): void {
  code.localGet(local).i32Const(bytes).i32Add().localSet(local);
}

/**
 * Emits a walk over `n` floats (the local `n`, left as is): `vector()` for each group of four, then
 * `scalar()` for each of the last n mod 4, each followed by moving every local in `pointers` on by 16
 * or 4 bytes. `count` is a scratch i32 local.
 */
function stream(
  code: Code,
  n: number,
  count: number,
  pointers: readonly number[],
  vector: () => void,
  scalar: () => void,
): void {
  code.localGet(n).i32Const(2).i32ShrU().localSet(count);
  repeat(code, count, () => {
    vector();
    for (const p of pointers) advance(code, p, 16);
  });
  code.localGet(n).i32Const(3).i32And().localSet(count);
  repeat(code, count, () => {
    scalar();
    for (const p of pointers) advance(code, p, 4);
  });
}

/** Float lanes of two vectors laid end to end (0–3 the first, 4–7 the second) as shuffle byte lanes. */
function floatLanes(...lanes: number[]): number[] {
  return lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
}
/** Lanes 0 and 2 of each operand: the even floats of eight consecutive ones. */
const EVEN = floatLanes(0, 2, 4, 6);
/** Lanes 1 and 3 of each operand: the odd floats. */
const ODD = floatLanes(1, 3, 5, 7);
/** Lanes 0 and 1 of each operand, interleaved. */
const INTERLEAVE_LOW = floatLanes(0, 4, 1, 5);
/** Lanes 2 and 3 of each operand, interleaved. */
const INTERLEAVE_HIGH = floatLanes(2, 6, 3, 7);

/** How one elementwise function computes an output value from its inputs' values. */
interface Elementwise {
  /** Pushes the output vector; `load(i)` pushes input i's four values. */
  readonly vector: (code: Code, load: (input: number) => void) => void;
  /** Pushes the output float; `load(i)` pushes input i's value. */
  readonly scalar: (code: Code, load: (input: number) => void) => void;
  /** Locals after the loop counter (index `inputs + 2`), which comes first. */
  readonly locals?: readonly ValType[];
  /** Runs once before the loop. */
  readonly setup?: (code: Code) => void;
}

/** `name(in₀, …, out, n)` over equal-length arrays. */
function elementwiseFunction(name: string, inputs: number, op: Elementwise): FunctionSpec {
  const out = inputs, n = inputs + 1, count = inputs + 2;
  const code = new Code();
  op.setup?.(code);
  const vector = () => {
    code.localGet(out);
    op.vector(code, (i) => code.localGet(i).v128Load());
    code.v128Store();
  };
  const scalar = () => {
    code.localGet(out);
    op.scalar(code, (i) => code.localGet(i).f32Load());
    code.f32Store();
  };
  stream(code, n, count, [...new Array(inputs + 1).keys()], vector, scalar);
  return {
    export: name,
    params: new Array<ValType>(inputs + 2).fill(I32),
    results: [],
    locals: [I32, ...op.locals ?? []],
    body: code,
  };
}

/**
 * `relu(x, y, n)`: x masked by x > 0 or x ≠ x (NaN passes, −0 gives +0: `Math.max(x, 0)` bit for bit,
 * which `f32x4.pmax` is not for −0 and NaN); or `reluGrad(dy, x, dx, n)` when `grad`: dy masked by
 * x > 0 (0 where x is NaN or ±0).
 */
function reluFunction(grad: boolean): FunctionSpec {
  const inputs = grad ? 2 : 1;
  const [value, xIn] = grad ? [0, 1] : [0, 0];
  const [zero, v, s] = [inputs + 3, inputs + 4, inputs + 5];
  return elementwiseFunction(grad ? "reluGrad" : "relu", inputs, {
    locals: [V128, V128, F32],
    setup: (code) => code.f32Const(0).f32x4Splat().localSet(zero),
    vector: (code, load) => {
      if (grad) {
        // dy & (x > 0): the mask is all ones where x > 0, never for NaN or ±0.
        load(value);
        load(xIn);
        code.localGet(zero).f32x4Gt().v128And();
      } else {
        load(xIn);
        code.localTee(v).localGet(zero).f32x4Gt().localGet(v).localGet(v).f32x4Ne().v128Or().localGet(v)
          .v128And();
      }
    },
    scalar: (code, load) => {
      load(xIn);
      code.localSet(s);
      if (grad) {
        load(value);
        code.f32Const(0).localGet(s).f32Const(0).f32Gt().select();
      } else {
        // (x > 0) + (x ≠ x) ? x : 0
        code.localGet(s).f32Const(0).localGet(s).f32Const(0).f32Gt().localGet(s).localGet(s).f32Eq().i32Eqz()
          .i32Add().select();
      }
    },
  });
}

/** `add`, `sub` or `mul(a, b, y, n)`. */
function arithmeticFunction(op: "add" | "sub" | "mul"): FunctionSpec {
  const ops = {
    add: [(c: Code) => c.f32x4Add(), (c: Code) => c.f32Add()],
    sub: [(c: Code) => c.f32x4Sub(), (c: Code) => c.f32Sub()],
    mul: [(c: Code) => c.f32x4Mul(), (c: Code) => c.f32Mul()],
  } as const;
  const [vectorOp, scalarOp] = ops[op];
  return elementwiseFunction(op, 2, {
    vector: (code, load) => {
      load(0);
      load(1);
      vectorOp(code);
    },
    scalar: (code, load) => {
      load(0);
      load(1);
      scalarOp(code);
    },
  });
}

/** `axpby(x, y, out, n, alpha, beta)`: out = alpha·x + beta·y. */
function axpbyFunction(): FunctionSpec {
  const [x, y, out, n, alpha, beta] = [0, 1, 2, 3, 4, 5];
  const [count, va, vb] = [6, 7, 8];
  const code = new Code();
  code.localGet(alpha).f32x4Splat().localSet(va).localGet(beta).f32x4Splat().localSet(vb);
  stream(code, n, count, [x, y, out], () => {
    code.localGet(out);
    code.localGet(va).localGet(x).v128Load().f32x4Mul();
    code.localGet(vb).localGet(y).v128Load().f32x4Mul().f32x4Add().v128Store();
  }, () => {
    code.localGet(out);
    code.localGet(alpha).localGet(x).f32Load().f32Mul();
    code.localGet(beta).localGet(y).f32Load().f32Mul().f32Add().f32Store();
  });
  return {
    export: "axpby",
    params: [I32, I32, I32, I32, F32, F32],
    results: [],
    locals: [I32, V128, V128],
    body: code,
  };
}

/** `biasAdd(x, bias, y, images, channels, plane)`: bias[c] broadcast over plane c of every image. */
function biasAddFunction(): FunctionSpec {
  const [x, bias, y, images, channels, plane] = [0, 1, 2, 3, 4, 5];
  const [count, b, c, vb] = [6, 7, 8, 9];
  const code = new Code();
  repeat(code, images, () => {
    code.localGet(bias).localSet(b).localGet(channels).localSet(c);
    repeat(code, c, () => {
      code.localGet(b).v128Load32Splat().localSet(vb);
      stream(code, plane, count, [x, y], () => {
        code.localGet(y).localGet(x).v128Load().localGet(vb).f32x4Add().v128Store();
      }, () => {
        code.localGet(y).localGet(x).f32Load().localGet(b).f32Load().f32Add().f32Store();
      });
      advance(code, b, 4);
    });
  });
  return {
    export: "biasAdd",
    params: new Array<ValType>(6).fill(I32),
    results: [],
    locals: [I32, I32, I32, V128],
    body: code,
  };
}

/** `m = v > m ? v : m` for f32 locals `m` and `v`. */
function keepGreater(code: Code, m: number, v: number): void {
  code.localGet(v).localGet(m).localGet(v).localGet(m).f32Gt().select().localSet(m);
}

/** Float lanes 1–3 of the first operand, then lane 0 of the second: a vector shifted on by one float. */
const SHIFT_IN = floatLanes(1, 2, 3, 4);

/**
 * `maxPool`. The vector path loads each window row of four windows as columns 0–7 (and column 8,
 * splatted, for 3-wide windows), splits them into even and odd columns and folds window column after
 * column, row after row, with `f32x4.pmax(m, v)` = `m < v ? v : m`, the scalar rule. A row's last
 * ow mod 4 windows are done by one more step over its last four, rewriting some outputs with the
 * values they already hold.
 */
function maxPoolFunction(): FunctionSpec {
  const [x, y, planes, h, w, oh, ow, kh, kw, sh, sw] = [...new Array(11).keys()];
  const [rowBytes, xr, oy, win, count, p, q, pr, e] = [...new Array(9).keys()].map((i) => 11 + i);
  const [m, v] = [20, 21];
  const [v0, v1, even, acc] = [22, 23, 24, 25];
  const code = new Code();
  /** `row()` for each output row of each plane, `win` at the row's first window. */
  const eachRow = (row: () => void) => {
    repeat(code, planes, () => {
      code.localGet(x).localSet(xr).localGet(oh).localSet(oy);
      repeat(code, oy, () => {
        code.localGet(xr).localSet(win);
        row();
        code.localGet(xr).localGet(rowBytes).localGet(sh).i32Mul().i32Add().localSet(xr);
      });
      code.localGet(x).localGet(rowBytes).localGet(h).i32Mul().i32Add().localSet(x);
    });
  };
  /** `count` windows one at a time from `win` on, each to y (advanced). */
  const scalarWindows = () => {
    repeat(code, count, () => {
      code.localGet(win).f32Load().localSet(m);
      code.localGet(win).localSet(pr).localGet(kh).localSet(p);
      repeat(code, p, () => {
        code.localGet(pr).localSet(e).localGet(kw).localSet(q);
        repeat(code, q, () => {
          code.localGet(e).f32Load().localSet(v);
          keepGreater(code, m, v);
          advance(code, e, 4);
        });
        code.localGet(pr).localGet(rowBytes).i32Add().localSet(pr);
      });
      code.localGet(y).localGet(m).f32Store();
      advance(code, y, 4);
      code.localGet(win).localGet(sw).i32Const(4).i32Mul().i32Add().localSet(win);
    });
  };
  /**
   * Folds one window row of four windows at `pr` (columns 0–7, and 8 when `wide`) into the local `acc`,
   * or starts it when `first`. Every load stays inside the four windows.
   */
  const foldRow = (wide: boolean, first: boolean) => {
    code.localGet(pr).v128Load().localSet(v0).localGet(pr).v128Load(16).localSet(v1);
    if (!first) code.localGet(acc);
    code.localGet(v0).localGet(v1).i8x16Shuffle(EVEN);
    if (wide) code.localTee(even);
    if (!first) code.f32x4Pmax();
    code.localGet(v0).localGet(v1).i8x16Shuffle(ODD).f32x4Pmax();
    if (wide) code.localGet(even).localGet(pr).v128Load32Splat(32).i8x16Shuffle(SHIFT_IN).f32x4Pmax();
    code.localSet(acc);
  };
  /** Four windows from `win` on, to y; both advance. */
  const vectorWindows = (wide: boolean, rows?: number) => {
    code.localGet(win).localSet(pr);
    foldRow(wide, true);
    const next = () => {
      code.localGet(pr).localGet(rowBytes).i32Add().localSet(pr);
      foldRow(wide, false);
    };
    if (rows === undefined) {
      code.localGet(kh).i32Const(1).i32Sub().localSet(p);
      repeat(code, p, next);
    } else {
      for (let r = 1; r < rows; r++) next();
    }
    code.localGet(y).localGet(acc).v128Store();
    advance(code, y, 16);
    advance(code, win, 32);
  };
  /**
   * One output row with `kw` = 3 (`wide`) or 2 and `sw` = 2: four windows at a time, then the row's
   * last four again when ow mod 4 are left (rewriting a few outputs with the same values); rows of
   * fewer than four windows one at a time.
   */
  const vectorRow = (wide: boolean, rows?: number) => {
    code.localGet(ow).i32Const(4).i32LtU().if();
    code.localGet(ow).localSet(count);
    scalarWindows();
    code.else();
    code.localGet(ow).i32Const(2).i32ShrU().localSet(count);
    repeat(code, count, () => vectorWindows(wide, rows));
    code.localGet(ow).i32Const(3).i32And().localTee(count).if();
    // Back 4 − count windows: 8 input bytes and 4 output bytes each.
    code.localGet(win).i32Const(4).localGet(count).i32Sub().localTee(count).i32Const(8).i32Mul().i32Sub()
      .localSet(win);
    code.localGet(y).localGet(count).i32Const(4).i32Mul().i32Sub().localSet(y);
    vectorWindows(wide, rows);
    code.end();
    code.end();
  };
  /** Every row with `kw` = 3 (`wide`) or 2: square windows fold their rows unrolled, others loop over kh. */
  const vectorPath = (wide: boolean) => {
    code.localGet(kh).i32Const(wide ? 3 : 2).i32Eq().if();
    eachRow(() => vectorRow(wide, wide ? 3 : 2));
    code.else();
    eachRow(() => vectorRow(wide));
    code.end();
  };
  /** Pushes whether the vector path takes `kw` = `k`: sw = 2 and kh ≥ 1 (its row loop runs kh − 1 times). */
  const vectorTakes = (k: number) => {
    code.localGet(sw).i32Const(2).i32Eq().localGet(kh).i32Const(1).i32GeU().i32And();
    code.localGet(kw).i32Const(k).i32Eq().i32And();
  };
  code.localGet(w).i32Const(4).i32Mul().localSet(rowBytes);
  vectorTakes(3);
  code.if();
  vectorPath(true);
  code.else();
  vectorTakes(2);
  code.if();
  vectorPath(false);
  code.else();
  eachRow(() => {
    code.localGet(ow).localSet(count);
    scalarWindows();
  });
  code.end().end();
  return {
    export: "maxPool",
    params: new Array<ValType>(11).fill(I32),
    results: [],
    locals: [...new Array<ValType>(9).fill(I32), F32, F32, ...new Array<ValType>(4).fill(V128)],
    body: code,
  };
}

/** `maxPoolGrad2x2`; see the module comment. */
function maxPoolGrad2x2Function(): FunctionSpec {
  const [x, dy, dx, planes, h, w, oh, ow] = [...new Array(8).keys()];
  const [rowBytes, xr, dr, a, b, da, db, count, oy, c, idx] = [...new Array(11).keys()].map((i) => 8 + i);
  const [m, v, g] = [19, 20, 21];
  const [e0, o0, e1, o1, vm, vg, taken, k00, k01, k10] = [...new Array(10).keys()].map((i) => 22 + i);
  const code = new Code();
  /** Zeros at `ptr` (advanced) for `count` floats. */
  const zeros = (ptr: number, n: number) =>
    stream(
      code,
      n,
      count,
      [ptr],
      () => code.localGet(ptr).f32Const(0).f32x4Splat().v128Store(),
      () => code.localGet(ptr).f32Const(0).f32Store(),
    );
  code.localGet(w).i32Const(4).i32Mul().localSet(rowBytes);
  repeat(code, planes, () => {
    code.localGet(x).localSet(xr).localGet(dx).localSet(dr).localGet(oh).localSet(oy);
    repeat(code, oy, () => {
      code.localGet(xr).localSet(a).localGet(xr).localGet(rowBytes).i32Add().localSet(b);
      code.localGet(dr).localSet(da).localGet(dr).localGet(rowBytes).i32Add().localSet(db);
      // Four windows: their maximum as in maxPool, then the first position equal to it.
      code.localGet(ow).i32Const(2).i32ShrU().localSet(count);
      repeat(code, count, () => {
        for (const [ptr, even, odd] of [[a, e0, o0], [b, e1, o1]]) {
          code.localGet(ptr).v128Load().localSet(k00).localGet(ptr).v128Load(16).localSet(k01);
          code.localGet(k00).localGet(k01).i8x16Shuffle(EVEN).localSet(even);
          code.localGet(k00).localGet(k01).i8x16Shuffle(ODD).localSet(odd);
        }
        code.localGet(e0).localGet(o0).f32x4Pmax().localGet(e1).localGet(o1).f32x4Pmax().f32x4Pmax()
          .localSet(vm);
        code.localGet(dy).v128Load().localSet(vg);
        code.localGet(e0).localGet(vm).f32x4Eq().localTee(k00).localSet(taken);
        code.localGet(o0).localGet(vm).f32x4Eq().localGet(taken).v128AndNot().localTee(k01)
          .localGet(taken).v128Or().localSet(taken);
        code.localGet(e1).localGet(vm).f32x4Eq().localGet(taken).v128AndNot().localTee(k10)
          .localGet(taken).v128Or().localSet(taken);
        // dy masked per position; the last position takes what the first three did not.
        for (const k of [k00, k01, k10]) code.localGet(vg).localGet(k).v128And().localSet(k);
        code.localGet(vg).localGet(taken).v128AndNot().localSet(taken);
        for (const [ptr, left, right] of [[da, k00, k01], [db, k10, taken]]) {
          code.localGet(ptr).localGet(left).localGet(right).i8x16Shuffle(INTERLEAVE_LOW).v128Store();
          code.localGet(ptr).localGet(left).localGet(right).i8x16Shuffle(INTERLEAVE_HIGH).v128Store(16);
        }
        for (const ptr of [a, b, da, db]) advance(code, ptr, 32);
        advance(code, dy, 16);
      });
      // The rest one window at a time: track the maximum's position as the scalar rule does.
      code.localGet(ow).i32Const(3).i32And().localSet(count);
      repeat(code, count, () => {
        code.localGet(a).f32Load().localSet(m).i32Const(0).localSet(idx);
        for (const [k, base, offset] of [[1, a, 4], [2, b, 0], [3, b, 4]]) {
          code.localGet(base).f32Load(offset).localTee(v).localGet(m).f32Gt().localSet(c);
          code.localGet(v).localGet(m).localGet(c).select().localSet(m);
          code.i32Const(k).localGet(idx).localGet(c).select().localSet(idx);
        }
        code.localGet(dy).f32Load().localSet(g);
        for (const [k, base, offset] of [[0, da, 0], [1, da, 4], [2, db, 0], [3, db, 4]]) {
          code.localGet(base).localGet(g).f32Const(0).localGet(idx).i32Const(k).i32Eq().select().f32Store(
            offset,
          );
        }
        for (const ptr of [a, b, da, db]) advance(code, ptr, 8);
        advance(code, dy, 4);
      });
      // The odd last column of both rows.
      code.localGet(w).localGet(ow).i32Const(2).i32Mul().i32Sub().localSet(count);
      repeat(code, count, () => {
        code.localGet(da).f32Const(0).f32Store().localGet(db).f32Const(0).f32Store();
        advance(code, da, 4);
        advance(code, db, 4);
      });
      code.localGet(xr).localGet(rowBytes).i32Const(2).i32Mul().i32Add().localSet(xr);
      code.localGet(dr).localGet(rowBytes).i32Const(2).i32Mul().i32Add().localSet(dr);
    });
    // The rows below the last window, up to the next plane.
    code.localGet(h).localGet(oh).i32Const(2).i32Mul().i32Sub().localGet(w).i32Mul().localSet(oy);
    zeros(dr, oy);
    code.localGet(dr).localSet(dx);
    code.localGet(x).localGet(rowBytes).localGet(h).i32Mul().i32Add().localSet(x);
  });
  return {
    export: "maxPoolGrad2x2",
    params: new Array<ValType>(8).fill(I32),
    results: [],
    locals: [...new Array<ValType>(11).fill(I32), F32, F32, F32, ...new Array<ValType>(10).fill(V128)],
    body: code,
  };
}

/** `sumRows(x, y, rows, cols)`: four columns at a time down all rows, then the last cols mod 4 alone. */
function sumRowsFunction(): FunctionSpec {
  const [x, y, rows, cols] = [0, 1, 2, 3];
  const [count, r, p, rowBytes, acc, s] = [4, 5, 6, 7, 8, 9];
  const code = new Code();
  code.localGet(cols).i32Const(4).i32Mul().localSet(rowBytes);
  /** `add()` for each row of the column block at x, `p` walking down it. */
  const downRows = (add: () => void) => {
    code.localGet(x).localSet(p).localGet(rows).localSet(r);
    repeat(code, r, () => {
      add();
      code.localGet(p).localGet(rowBytes).i32Add().localSet(p);
    });
  };
  stream(code, cols, count, [x, y], () => {
    code.f32Const(0).f32x4Splat().localSet(acc);
    downRows(() => code.localGet(acc).localGet(p).v128Load().f32x4Add().localSet(acc));
    code.localGet(y).localGet(acc).v128Store();
  }, () => {
    code.f32Const(0).localSet(s);
    downRows(() => code.localGet(s).localGet(p).f32Load().f32Add().localSet(s));
    code.localGet(y).localGet(s).f32Store();
  });
  return {
    export: "sumRows",
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, V128, F32],
    body: code,
  };
}

/** `sumPlanes(x, y, images, channels, plane)`: per channel, four lane sums and a scalar one. */
function sumPlanesFunction(): FunctionSpec {
  const [x, y, images, channels, plane] = [0, 1, 2, 3, 4];
  const [count, c, bi, p, imageBytes, acc, s] = [5, 6, 7, 8, 9, 10, 11];
  const code = new Code();
  code.localGet(channels).localGet(plane).i32Mul().i32Const(4).i32Mul().localSet(imageBytes);
  code.localGet(channels).localSet(c);
  repeat(code, c, () => {
    code.f32Const(0).f32x4Splat().localSet(acc).f32Const(0).localSet(s);
    code.localGet(x).localSet(p).localGet(images).localSet(bi);
    repeat(code, bi, () => {
      stream(
        code,
        plane,
        count,
        [p],
        () => code.localGet(acc).localGet(p).v128Load().f32x4Add().localSet(acc),
        () => code.localGet(s).localGet(p).f32Load().f32Add().localSet(s),
      );
      // p is at the end of this plane; the same channel of the next image is an image minus a plane on.
      code.localGet(p).localGet(imageBytes).i32Add().localGet(plane).i32Const(4).i32Mul().i32Sub().localSet(
        p,
      );
    });
    code.localGet(y);
    code.localGet(acc).f32x4ExtractLane(0).localGet(acc).f32x4ExtractLane(1).f32Add();
    code.localGet(acc).f32x4ExtractLane(2).localGet(acc).f32x4ExtractLane(3).f32Add().f32Add();
    code.localGet(s).f32Add().f32Store();
    advance(code, y, 4);
    code.localGet(x).localGet(plane).i32Const(4).i32Mul().i32Add().localSet(x);
  });
  return {
    export: "sumPlanes",
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, I32, V128, F32],
    body: code,
  };
}

/**
 * The elementwise, pooling and reduction functions, each exported under its name (see the module
 * comment), for a module that imports its memory.
 *
 * @returns Function specs that use no `call`, so they may sit at any index of a module.
 */
export function simdKernelFunctions(): FunctionSpec[] {
  return [
    reluFunction(false),
    reluFunction(true),
    arithmeticFunction("add"),
    arithmeticFunction("sub"),
    arithmeticFunction("mul"),
    axpbyFunction(),
    biasAddFunction(),
    maxPoolFunction(),
    maxPoolGrad2x2Function(),
    sumRowsFunction(),
    sumPlanesFunction(),
  ];
}
