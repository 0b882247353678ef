/**
 * WebGPU kernels of `conv2d`, `conv2dBackpropInput` and `conv2dBackpropFilter`. Each is an implicit
 * GEMM per channel group, `out[M, N] = A[M, K] · B[K, N]`, whose operands are read straight from the
 * NCHW tensors (no im2col buffer):
 *
 * | op                     | rows M          | columns N                  | reduction K                | A  | B  |
 * | ---------------------- | --------------- | -------------------------- | -------------------------- | -- | -- |
 * | `conv2d`               | output channels | output positions `(b,i,j)` | filter taps `(c,p,q)`      | w  | x  |
 * | `conv2dBackpropInput`  | input channels  | input positions `(b,y,x)`  | `(o,p,q)`                  | w  | dy |
 * | `conv2dBackpropFilter` | output channels | filter taps `(c,p,q)`      | output positions `(b,i,j)` | dy | x  |
 *
 * `conv2d` and `conv2dBackpropInput`: a 64-invocation workgroup owns `R` rows × 512 columns, and each
 * invocation keeps an `R × 8` block of sums in registers (`R` = 1, 2, 4 or 8, the smallest that covers
 * the group's rows, so LeNet's 6 channels waste 2 rows). Per reduction step an invocation gathers 8 B
 * values (one per column; consecutive invocations read consecutive positions) and loads `R` A values
 * at addresses shared by the whole workgroup (broadcasts), for `8R` multiply-adds. It walks the
 * reduction as nested loops over channel, kernel row and kernel column, so no division happens per
 * tap. `conv2dBackpropInput` is the gather form of the transposed convolution: `dy` is read at
 * `((y + ph − p·dh)/sh, (x + pw − q·dw)/sw)` when both divide exactly and lie inside, so it needs no
 * atomics and no col2im.
 *
 * `conv2dBackpropFilter` has few outputs and a long reduction over every output position of the
 * batch. A workgroup owns `R` output channels × `64/R` taps and a span of at least 1,024 positions; its
 * invocations split the span (each takes every 64th position) with the whole block in registers, then
 * add their blocks through workgroup memory. Spans go to different workgroups (split-K, aiming at 128
 * workgroups in all) and a second pass sums their partial results.
 *
 * Why no operand tiles in workgroup memory: on the software adapter (llvmpipe) at LeNet-5 sizes, a
 * 16×64 tile with both operands staged there was more than 10× slower than this layout, and staging only
 * the filter tile 1.5–2.5× slower. Staging would buy reuse only for A, whose loads are already
 * broadcasts, and every workgroup array is zero-filled when a workgroup starts (on llvmpipe about 1 ms
 * per 16 KiB array, which is why `conv2dBackpropFilter` adds its blocks in rounds through a 4 KiB
 * array). Nothing here has been timed on a discrete GPU.
 * @module
 */
import { defineKernel, type Kernel, type KernelInput, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import {
  assertBindable,
  bindings,
  grid,
  paramsBuffer,
  PRELUDE,
  record,
  RELU,
  runKernel,
} from "@cnnlab/backend-webgpu/dispatch";
import { type Conv2dAttrs, type Conv2dBiasAttrs, type ConvGeometry, convGeometry } from "./_geometry.ts";
import type { Conv2dBackpropFilterAttrs, Conv2dBackpropInputAttrs } from "./conv2d_op.ts";

/** Invocations per workgroup. */
const LANES = 64;
/** Columns each invocation of `conv2d` and `conv2dBackpropInput` computes, `LANES` apart. */
const COLS = 8;
/** Cells of a `conv2dBackpropFilter` block added across lanes per round (a `ROUND × LANES` array). */
const ROUND = 16;
/** Largest z extent of a dispatch. */
const MAX_LAYERS = 65535;

/** Rows of a tile for a GEMM with `m` rows: 1, 2, 4 or 8 (more row tiles beyond 8). */
function tileRows(m: number): number {
  return m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : 8;
}

/** `f(0) … f(n − 1)` joined by newlines. */
function each(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join("\n");
}

/** `f(m, u)` for every row `m < r` and column `u < c`, joined by newlines. */
function eachCell(r: number, c: number, f: (m: number, u: number) => string): string {
  return each(r * c, (i) => f(Math.floor(i / c), i % c));
}

/**
 * The parameter words, unpacked at the top of every shader: the geometry, then the GEMM's rows `M`
 * and columns `N`, the number of row tiles, and for `conv2dBackpropFilter` the reduction span of one
 * workgroup and the number of spans.
 */
const UNPACK = `
  let n = params[0]; let cIn = params[1]; let h = params[2]; let w = params[3];
  let cOut = params[4]; let kh = params[5]; let kw = params[6]; let oh = params[7]; let ow = params[8];
  let sh = params[9]; let sw = params[10]; let ph = i32(params[11]); let pw = i32(params[12]);
  let dh = params[13]; let dw = params[14]; let cg = params[15]; let og = params[16];
  let M = params[17]; let N = params[18]; let mTiles = params[19]; let kSpan = params[20]; let splits = params[21];
  let khw = kh * kw; let hw = h * w; let plane = oh * ow;
  let tile = wid.x + wid.y * nwg.x;`;

const MAIN = `@compute @workgroup_size(${LANES}) fn main(@builtin(workgroup_id) wid: vec3u,
    @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32)`;

/**
 * The columns `col0…` of an invocation in a `LANES·COLS`-column tile, `LANES` apart (`live${u}` when
 * inside, `cl${u}` clamped for index arithmetic), and the early exit when it has none.
 */
const COLUMNS = `  let first = tile * ${LANES * COLS}u + lid;
  if (first >= N) { return; }
${
  each(COLS, (u) =>
    `  let col${u} = first + ${u * LANES}u; let live${u} = col${u} < N; let cl${u} = min(col${u}, N - 1u);`)
}`;

/**
 * `conv2d`, `r` output channels × `COLS` output positions per invocation: in0 = x, in1 = w; with
 * `bias`, in2 = one bias per filter, added as each output is stored, then `relu(·)` (`RELU`) with `relu`.
 */
function forwardCode(r: number, bias = false, relu = false): string {
  return `${bindings(bias ? 3 : 2)}${relu ? RELU : ""}
${MAIN} {
  ${UNPACK}
${COLUMNS}
  let m0 = wid.z % mTiles * ${r}u; let g = wid.z / mTiles;
  let K = cg * khw;
  // Filter rows of the tile; rows past M repeat the last one and are not stored.
${each(r, (m) => `  let w${m} = (g * og + min(m0 + ${m}u, M - 1u)) * K;`)}
${
    each(COLS, (u) =>
      `  let b${u} = cl${u} / plane; let pos${u} = cl${u} % plane;
  let iy${u} = i32(pos${u} / ow * sh) - ph; let ix${u} = i32(pos${u} % ow * sw) - pw;
  let xg${u} = (b${u} * cIn + g * cg) * h;`)
  }
${eachCell(r, COLS, (m, u) => `  var a${m}_${u} = 0.0;`)}
  var k = 0u;
  for (var c = 0u; c < cg; c++) {
    for (var p = 0u; p < kh; p++) {
      let ty = i32(p * dh);
${
    each(COLS, (u) =>
      `      let y${u} = iy${u} + ty; let ok${u} = live${u} && y${u} >= 0 && y${u} < i32(h);
      let xr${u} = (xg${u} + c * h + u32(max(y${u}, 0))) * w;`)
  }
      for (var q = 0u; q < kw; q++) {
        let tx = i32(q * dw);
${each(r, (m) => `        let f${m} = in1[w${m} + k];`)}
${
    each(COLS, (u) =>
      `        var v${u} = 0.0;
        { let x = ix${u} + tx; if (ok${u} && x >= 0 && x < i32(w)) { v${u} = in0[xr${u} + u32(x)]; } }`)
  }
${eachCell(r, COLS, (m, u) => `        a${m}_${u} += v${u} * f${m};`)}
        k++;
      }
    }
  }
${
    each(COLS, (u) =>
      `  if (live${u}) {
    let o = (b${u} * cOut + g * og + m0) * plane + pos${u};
${
        each(r, (m) => {
          const sum = bias ? `a${m}_${u} + in2[g * og + m0 + ${m}u]` : `a${m}_${u}`;
          const value = relu ? `relu(${sum})` : sum;
          return `    if (m0 + ${m}u < M) { out[o + ${m}u * plane] = ${value}; }`;
        })
      }
  }`)
  }
}`;
}

/** `conv2dBackpropInput`, `r` input channels × `COLS` input positions per invocation: in0 = dy, in1 = w. */
function backpropInputCode(r: number): string {
  return `${bindings(2)}
${MAIN} {
  ${UNPACK}
${COLUMNS}
  let m0 = wid.z % mTiles * ${r}u; let g = wid.z / mTiles;
  // Channel offsets of the tile's rows inside a filter row; rows past M repeat the last one.
${each(r, (m) => `  let c${m} = min(m0 + ${m}u, M - 1u) * khw;`)}
${
    each(COLS, (u) =>
      `  let b${u} = cl${u} / hw; let pos${u} = cl${u} % hw;
  let ty${u} = i32(pos${u} / w) + ph; let tx${u} = i32(pos${u} % w) + pw;
  let dg${u} = (b${u} * cOut + g * og) * plane;`)
  }
${eachCell(r, COLS, (m, u) => `  var a${m}_${u} = 0.0;`)}
  for (var o = 0u; o < og; o++) {
    let wo = (g * og + o) * cg * khw;
    for (var p = 0u; p < kh; p++) {
      let py = i32(p * dh);
${
    each(COLS, (u) =>
      `      var ok${u} = false; var dr${u} = 0u;
      {
        let t = ty${u} - py;
        if (live${u} && t >= 0) {
          var i = u32(t);
          if (sh != 1u) { i = i / sh; }
          ok${u} = i * sh == u32(t) && i < oh;
          dr${u} = dg${u} + o * plane + i * ow;
        }
      }`)
  }
      for (var q = 0u; q < kw; q++) {
        let wq = wo + p * kw + q;
${each(r, (m) => `        let f${m} = in1[wq + c${m}];`)}
        let qx = i32(q * dw);
${
    each(COLS, (u) =>
      `        var v${u} = 0.0;
        {
          let t = tx${u} - qx;
          if (ok${u} && t >= 0) {
            var j = u32(t);
            if (sw != 1u) { j = j / sw; }
            if (j * sw == u32(t) && j < ow) { v${u} = in0[dr${u} + j]; }
          }
        }`)
  }
${eachCell(r, COLS, (m, u) => `        a${m}_${u} += v${u} * f${m};`)}
      }
    }
  }
${
    each(COLS, (u) =>
      `  if (live${u}) {
    let o = (b${u} * cIn + g * cg + m0) * hw + pos${u};
${each(r, (m) => `    if (m0 + ${m}u < M) { out[o + ${m}u * hw] = a${m}_${u}; }`)}
  }`)
  }
}`;
}

/**
 * `conv2dBackpropFilter`: a workgroup owns `r` output channels × `LANES / r` filter taps and one
 * span of the reduction over output positions, which its invocations split (position `k0 + lid`,
 * then every `LANES`-th); their sums meet in workgroup memory. in0 = x, in1 = dy. Span `s` writes
 * `out[s·cOut·N + …]`.
 */
function backpropFilterCode(r: number): string {
  const c = LANES / r;
  return `${bindings(2)}
var<workgroup> part: array<f32, ${ROUND * LANES}>;
// Sums cell \`cell\` (row cell / ${c}, column cell % ${c}) of the tile over the lanes, staged in row \`j\` of part.
fn sumCell(cell: u32, j: u32, m0: u32, g: u32, split: u32, tile: u32, M: u32, N: u32, cOut: u32, og: u32) {
  var s = 0.0;
  for (var l = 0u; l < ${LANES}u; l++) { s += part[j * ${LANES}u + l]; }
  let m = cell / ${c}u; let col = tile * ${c}u + cell % ${c}u;
  if (m0 + m < M && col < N) { out[(split * cOut + g * og + m0 + m) * N + col] = s; }
}
${MAIN} {
  ${UNPACK}
  if (tile * ${c}u >= N) { return; }
  let m0 = wid.z % mTiles * ${r}u; let split = wid.z / mTiles % splits; let g = wid.z / (mTiles * splits);
  // dy channel offsets of the tile's rows; rows past M repeat the last one and are not stored.
${each(r, (m) => `  let d${m} = (g * og + min(m0 + ${m}u, M - 1u)) * plane;`)}
${
    each(c, (u) =>
      `  let live${u} = tile * ${c}u + ${u}u < N; let cl${u} = min(tile * ${c}u + ${u}u, N - 1u);
  let oy${u} = i32(cl${u} % khw / kw * dh) - ph; let ox${u} = i32(cl${u} % kw * dw) - pw;
  let xc${u} = (g * cg + cl${u} / khw) * hw;`)
  }
${eachCell(r, c, (m, u) => `  var a${m}_${u} = 0.0;`)}
  let k1 = min(n * plane, (split + 1u) * kSpan);
  for (var k = split * kSpan + lid; k < k1; k += ${LANES}u) {
    let b = k / plane; let pos = k % plane;
    let yb = i32(pos / ow * sh); let xb = i32(pos % ow * sw); let xo = b * cIn * hw;
    let dk = b * cOut * plane + pos;
${each(r, (m) => `    let e${m} = in1[dk + d${m}];`)}
${
    each(c, (u) =>
      `    var v${u} = 0.0;
    { let y = yb + oy${u}; let x = xb + ox${u};
      if (live${u} && y >= 0 && y < i32(h) && x >= 0 && x < i32(w)) { v${u} = in0[xo + xc${u} + u32(y) * w + u32(x)]; } }`)
  }
${eachCell(r, c, (m, u) => `    a${m}_${u} += e${m} * v${u};`)}
  }
${
    each(LANES / ROUND, (t) =>
      `  workgroupBarrier();
${
        each(ROUND, (j) => {
          const cell = t * ROUND + j, m = Math.floor(cell / c), u = cell % c;
          return `  part[${j * LANES}u + lid] = a${m}_${u};`;
        })
      }
  workgroupBarrier();
  if (lid < ${ROUND}u) { sumCell(${t * ROUND}u + lid, lid, m0, g, split, tile, M, N, cOut, og); }`)
  }
}`;
}

/** Sums `params[1]` slices of `params[0]` values: `out[i] = Σ_s in0[s·params[0] + i]`. */
const sumSplitsCode = `${bindings(1)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  let size = params[0];
  if (i >= size) { return; }
  var s = 0.0;
  for (var k = 0u; k < params[1]; k++) { s += in0[k * size + i]; }
  out[i] = s;
}`;

/** The WGSL of each tile height, generated once (the backend caches one pipeline per code string). */
function codeCache(make: (r: number) => string): (r: number) => string {
  const cache = new Map<number, string>();
  return (r) => {
    let code = cache.get(r);
    if (!code) cache.set(r, code = make(r));
    return code;
  };
}
const forwardCodes = codeCache((r) => forwardCode(r));
const forwardBiasCodes = codeCache((r) => forwardCode(r, true));
const forwardBiasReluCodes = codeCache((r) => forwardCode(r, true, true));
const backpropInputCodes = codeCache(backpropInputCode);
const backpropFilterCodes = codeCache(backpropFilterCode);

/** A launch: GEMM rows and columns, rows and columns of a workgroup's tile, reduction span and spans. */
interface Launch {
  readonly m: number;
  readonly n: number;
  readonly r: number;
  readonly tileCols: number;
  readonly kSpan: number;
  readonly splits: number;
}

function params(g: ConvGeometry, l: Launch): number[] {
  const { n, cIn, h, w, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og } = g;
  const mTiles = Math.ceil(l.m / l.r);
  return [
    ...[n, cIn, h, w, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og],
    ...[l.m, l.n, mTiles, l.kSpan, l.splits],
  ];
}

/**
 * The grid of a launch: column tiles folded over x and y, `groups × splits × row tiles` over z.
 *
 * @throws {RangeError} If z exceeds the dispatch limit, suggesting `--backend cpu`.
 */
function launchGrid(op: string, g: ConvGeometry, l: Launch): [number, number, number] {
  const tiles = Math.ceil(l.n / l.tileCols);
  const x = Math.min(tiles, 65535);
  const z = g.groups * l.splits * Math.ceil(l.m / l.r);
  if (z > MAX_LAYERS) {
    throw new RangeError(
      `Cannot run op "${op}" on backend "webgpu": ${g.groups} groups of ${l.m} channels need ${z} workgroup layers, over the limit of ${MAX_LAYERS}; use --backend cpu`,
    );
  }
  return [x, Math.ceil(tiles / x), z];
}

/**
 * Runs `conv2d`, `conv2dBias` or `conv2dBackpropInput`, or returns zeros when there is nothing to
 * sum (with a bias, a third input, an empty sum still stores the bias).
 */
function runGemm(
  gpu: WebGpuBackend,
  op: string,
  code: (r: number) => string,
  inputs: readonly KernelInput<GpuStorage>[],
  g: ConvGeometry,
  m: number,
  n: number,
  outputSize: number,
): GpuStorage {
  if (outputSize === 0 || g.og === 0 || (g.cg === 0 && inputs.length < 3)) return gpu.create(outputSize);
  const l: Launch = { m, n, r: tileRows(m), tileCols: LANES * COLS, kSpan: 0, splits: 1 };
  return runKernel(gpu, {
    op,
    code: code(l.r),
    inputs,
    outputSize,
    params: params(g, l),
    workgroups: launchGrid(op, g, l),
  });
}

/**
 * The `conv2d` kernel for the `"webgpu"` backend: an implicit GEMM whose invocations each compute up
 * to 8 output channels at 8 output positions.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dWebgpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dWebgpu));
 * assert.equal(conv2dWebgpu.op, "conv2d");
 * assert.equal(conv2dWebgpu.backend, "webgpu");
 * ```
 */
export const conv2dWebgpu: Kernel<GpuStorage, Conv2dAttrs> = defineKernel<GpuStorage, Conv2dAttrs>({
  op: "conv2d",
  backend: "webgpu",
  run([x, w], attrs, outShape, backend) {
    const g = convGeometry("conv2d", x.shape, w.shape, attrs);
    const gpu = backend as unknown as WebGpuBackend;
    return runGemm(gpu, "conv2d", forwardCodes, [x, w], g, g.og, g.n * g.oh * g.ow, sizeOf(outShape));
  },
});

/**
 * The `conv2dBias` kernel for the `"webgpu"` backend: `conv2dWebgpu`'s GEMM, each output adding its
 * filter's bias (a third input) as it is stored, and clamped at 0 there with attribute `relu`.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dBiasWebgpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dBiasWebgpu));
 * assert.equal(conv2dBiasWebgpu.op, "conv2dBias");
 * ```
 */
export const conv2dBiasWebgpu: Kernel<GpuStorage, Conv2dBiasAttrs> = defineKernel<
  GpuStorage,
  Conv2dBiasAttrs
>({
  op: "conv2dBias",
  backend: "webgpu",
  run([x, w, bias], attrs, outShape, backend) {
    const g = convGeometry("conv2d", x.shape, w.shape, attrs);
    const gpu = backend as unknown as WebGpuBackend;
    return runGemm(
      gpu,
      "conv2dBias",
      attrs.relu ? forwardBiasReluCodes : forwardBiasCodes,
      [x, w, bias],
      g,
      g.og,
      g.n * g.oh * g.ow,
      sizeOf(outShape),
    );
  },
});

/**
 * The `conv2dBackpropInput` kernel for the `"webgpu"` backend: an implicit GEMM over input positions
 * that gathers `dy` (the transposed convolution without atomics or col2im), up to 8 input channels at
 * 8 positions per invocation.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dBackpropInputWebgpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dBackpropInputWebgpu));
 * assert.equal(conv2dBackpropInputWebgpu.op, "conv2dBackpropInput");
 * assert.equal(conv2dBackpropInputWebgpu.backend, "webgpu");
 * ```
 */
export const conv2dBackpropInputWebgpu: Kernel<GpuStorage, Conv2dBackpropInputAttrs> = defineKernel<
  GpuStorage,
  Conv2dBackpropInputAttrs
>({
  op: "conv2dBackpropInput",
  backend: "webgpu",
  run([dy, w], attrs, outShape, backend) {
    const op = "conv2dBackpropInput";
    const g = convGeometry(op, attrs.inputShape, w.shape, attrs);
    const gpu = backend as unknown as WebGpuBackend;
    return runGemm(gpu, op, backpropInputCodes, [dy, w], g, g.cg, g.n * g.h * g.w, sizeOf(outShape));
  },
});

/** Smallest reduction span of one `conv2dBackpropFilter` workgroup (16 positions per invocation). */
const MIN_SPAN = 16 * LANES;
/** Workgroups that `conv2dBackpropFilter` aims for when it splits the reduction. */
const TARGET_WORKGROUPS = 128;

/**
 * The `conv2dBackpropFilter` kernel for the `"webgpu"` backend: an implicit GEMM over filter taps whose
 * reduction over the batch's output positions is split across workgroups, then summed in a second pass.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dBackpropFilterWebgpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dBackpropFilterWebgpu));
 * assert.equal(conv2dBackpropFilterWebgpu.op, "conv2dBackpropFilter");
 * assert.equal(conv2dBackpropFilterWebgpu.backend, "webgpu");
 * ```
 */
export const conv2dBackpropFilterWebgpu: Kernel<GpuStorage, Conv2dBackpropFilterAttrs> = defineKernel<
  GpuStorage,
  Conv2dBackpropFilterAttrs
>({
  op: "conv2dBackpropFilter",
  backend: "webgpu",
  run([x, dy], attrs, outShape, backend) {
    const op = "conv2dBackpropFilter";
    const gpu = backend as unknown as WebGpuBackend;
    const g = convGeometry(op, x.shape, attrs.filterShape, attrs);
    const size = sizeOf(outShape), k = g.n * g.oh * g.ow;
    if (size === 0 || k === 0) return gpu.create(size);
    const m = g.og, n = g.cg * g.kh * g.kw, r = tileRows(m), tileCols = LANES / r;
    const tiles = g.groups * Math.ceil(m / r) * Math.ceil(n / tileCols);
    const wanted = Math.max(1, Math.floor(TARGET_WORKGROUPS / tiles));
    const kSpan = Math.max(MIN_SPAN, Math.ceil(k / wanted));
    const l: Launch = { m, n, r, tileCols, kSpan, splits: Math.ceil(k / kSpan) };
    const code = backpropFilterCodes(r), words = params(g, l), workgroups = launchGrid(op, g, l);
    if (l.splits === 1) {
      return runKernel(gpu, { op, code, inputs: [x, dy], outputSize: size, params: words, workgroups });
    }
    assertBindable(gpu, op, [x.storage.size, dy.storage.size, l.splits * size]);
    const partial = gpu.acquire(l.splits * size * 4);
    record(gpu, code, [x.storage.buffer, dy.storage.buffer, partial, paramsBuffer(gpu, words)], workgroups);
    const out = gpu.acquire(size * 4);
    record(gpu, sumSplitsCode, [partial, out, paramsBuffer(gpu, [size, l.splits])], grid(size));
    gpu.release(partial); // with the encoder open, the buffer returns to the pool after the flush
    return { buffer: out, size };
  },
});
