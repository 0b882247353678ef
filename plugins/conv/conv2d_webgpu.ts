/**
 * WebGPU kernels of `conv2d`, `conv2dBackpropInput` and `conv2dBackpropFilter`. Each is an implicit
 * GEMM per channel group, `out[M, N] = A[M, K] · B[K, N]`, whose operands are read straight from the
 * NCHW tensors (no im2col buffer):
 *
 * | op                     | rows M           | columns N                  | reduction K                  | A (uniform) | B (gathered) |
 * | ---------------------- | ---------------- | -------------------------- | ---------------------------- | ----------- | ------------ |
 * | `conv2d`               | output channels  | output positions `(b,i,j)` | filter taps `(c,p,q)`        | w           | x            |
 * | `conv2dBackpropInput`  | input channels   | input positions `(b,y,x)`  | `(o,p,q)`                    | w           | dy           |
 * | `conv2dBackpropFilter` | output channels  | filter taps `(c,p,q)`      | output positions `(b,i,j)`   | dy          | x            |
 *
 * Tiling: a 64-invocation workgroup owns a tile of `R × 64` outputs (`R` = 4, 8 or 16 rows, the
 * smallest that covers the group's rows, so LeNet's 6 channels waste 2 rows, not 10). Each invocation
 * owns one column and keeps its `R` row sums in registers: every B value it gathers (the costly,
 * bounds-checked load) feeds `R` multiply-adds, and the A values it needs depend only on the
 * reduction index, so all invocations of a workgroup read the same address (a broadcast; the
 * software adapter executes it as one scalar load). A B value is used by exactly one invocation, so
 * staging tiles in workgroup memory would buy no reuse; measured on llvmpipe, a classic 16×16
 * workgroup-memory tile (each invocation one output, B staged too) was 3–4× slower than this layout,
 * its inner loop dominated by per-lane workgroup-memory gathers. Because each invocation walks the whole
 * reduction itself, it does so as nested loops over channel, kernel row and kernel column, with no
 * division per tap and with rows of taps that fall in the padding skipped.
 *
 * `conv2dBackpropInput` is the gather form of the transposed convolution: `dy` is read at
 * `((y + ph − p·dh)/sh, (x + pw − q·dw)/sw)` when both divide exactly and lie inside (no atomics, no
 * col2im). `conv2dBackpropFilter` has few outputs and a long reduction (every position of the batch),
 * so the reduction is split across workgroups (split-K, chunks of at least 256), the partial tiles go
 * to a scratch buffer and a second pass sums them.
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
  runKernel,
} from "@cnnlab/backend-webgpu/dispatch";
import { type Conv2dAttrs, type ConvGeometry, convGeometry } from "./_geometry.ts";
import type { Conv2dBackpropFilterAttrs, Conv2dBackpropInputAttrs } from "./conv2d_op.ts";

/** Columns of a tile: invocations per workgroup. */
const TILE_N = 64;
/** Largest z extent of a dispatch. */
const MAX_LAYERS = 65535;
/** Floats of workgroup memory for the staged A chunk: 16 KiB, WebGPU's default limit. */
const STAGE = 4096;

/** Rows of a tile for a GEMM with `m` rows: 4, 8 or 16 (a multiple of 4: rows travel as vec4). */
function tileRows(m: number): number {
  return m <= 4 ? 4 : m <= 8 ? 8 : 16;
}

/** `f(0) … f(n − 1)` joined by newlines. */
function lines(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join("\n");
}

/**
 * The parameter words, unpacked at the top of every shader: the geometry, then the GEMM's rows `M`
 * and columns `N`, the number of row tiles, the A rows staged per chunk (kernel rows for the first two
 * ops), and for `conv2dBackpropFilter` the reduction span of one workgroup and the number of spans.
 * Invocations past the last column clamp their column and store nothing: they still help stage A.
 */
const UNPACK = `
  let n = params[0]; let cIn = params[1]; let h = params[2]; let w = params[3];
  let cOut = params[4]; let kh = params[5]; let kw = params[6]; let oh = params[7]; let ow = params[8];
  let sh = params[9]; let sw = params[10]; let ph = i32(params[11]); let pw = i32(params[12]);
  let dh = params[13]; let dw = params[14]; let cg = params[15]; let og = params[16];
  let M = params[17]; let N = params[18]; let mTiles = params[19]; let chunk = params[20];
  let kSpan = params[21]; let splits = params[22];
  let khw = kh * kw; let hw = h * w; let plane = oh * ow;
  let col = (wid.x + wid.y * nwg.x) * ${TILE_N}u + lid;
  let inside = col < N;
  let cl = min(col, N - 1u);`;

/** Workgroup memory and entry point: one invocation per column of a 64-column tile. */
const MAIN = `var<workgroup> ws: array<vec4f, ${STAGE / 4}>;
@compute @workgroup_size(${TILE_N}) fn main(@builtin(workgroup_id) wid: vec3u,
    @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32)`;

/** Row sums as vec4s: declarations, the multiply-add of `v` by staged entry `s`, and the stores. */
function accumulators(r: number) {
  const v = r / 4;
  return {
    declare: lines(v, (i) => `  var a${i} = vec4f();`),
    add: (indent: string) => lines(v, (i) => `${indent}a${i} += v * ws[s + ${i}u];`),
    store: (index: (m: string) => string) =>
      `  if (inside) {\n${
        lines(r, (m) => `    if (m0 + ${m}u < M) { out[${index(`${m}u`)}] = a${m >> 2}[${m & 3}]; }`)
      }\n  }`,
  };
}

/** Stages `count` A values, row index `m = e % R` fastest, as `ws[t·R/4 + m/4][m % 4]`; `value` reads entry (m, t). */
function stage(r: number, count: string, value: string): string {
  return `    workgroupBarrier();
    for (var e = lid; e < ${count}; e += ${TILE_N}u) {
      let m = e % ${r}u; let t = e / ${r}u;
      ws[t * ${r / 4}u + m / 4u][m % 4u] = ${value};
    }
    workgroupBarrier();`;
}

/** `conv2d`, `R` output channels per tile: in0 = x (gathered), in1 = w (staged per kernel rows). */
export function forwardCode(r: number): string {
  const acc = accumulators(r);
  return `${bindings(2)}
${MAIN} {
  ${UNPACK}
  let m0 = wid.z % mTiles * ${r}u; let g = wid.z / mTiles;
  let b = cl / plane; let pos = cl % plane;
  let iy0 = i32(pos / ow * sh) - ph; let ix0 = i32(pos % ow * sw) - pw;
  let K = cg * khw; let xg = (b * cIn + g * cg) * h;
${acc.declare}
  for (var r0 = 0u; r0 < cg * kh; r0 += chunk) {
    let rows = min(chunk, cg * kh - r0);
${stage(r, `rows * kw * ${r}u`, `in1[(g * og + min(m0 + m, M - 1u)) * K + r0 * kw + t]`)}
    for (var rr = 0u; rr < rows; rr++) {
      let cp = r0 + rr;
      let y = iy0 + i32(cp % kh * dh);
      if (y < 0 || y >= i32(h)) { continue; }
      let xr = (xg + cp / kh * h + u32(y)) * w;
      for (var q = 0u; q < kw; q++) {
        let x = ix0 + i32(q * dw);
        if (x < 0 || x >= i32(w)) { continue; }
        let v = in0[xr + u32(x)];
        let s = (rr * kw + q) * ${r / 4}u;
${acc.add("        ")}
      }
    }
  }
  let o = (b * cOut + g * og + m0) * plane + pos;
${acc.store((m) => `o + ${m} * plane`)}
}`;
}

/** `conv2dBackpropInput`, `R` input channels per tile: in0 = dy (gathered), in1 = w (staged per kernel rows). */
function backpropInputCode(r: number): string {
  const acc = accumulators(r);
  return `${bindings(2)}
${MAIN} {
  ${UNPACK}
  let m0 = wid.z % mTiles * ${r}u; let g = wid.z / mTiles;
  let b = cl / hw; let pos = cl % hw;
  let ty0 = i32(pos / w) + ph; let tx0 = i32(pos % w) + pw;
  let dyg = (b * cOut + g * og) * plane;
${acc.declare}
  for (var r0 = 0u; r0 < og * kh; r0 += chunk) {
    let rows = min(chunk, og * kh - r0);
${
    stage(
      r,
      `rows * kw * ${r}u`,
      `in1[((g * og + (r0 + t / kw) / kh) * cg + min(m0 + m, M - 1u)) * khw + (r0 + t / kw) % kh * kw + t % kw]`,
    )
  }
    for (var rr = 0u; rr < rows; rr++) {
      let op = r0 + rr;
      let ty = ty0 - i32(op % kh * dh);
      if (ty < 0) { continue; }
      var i = u32(ty);
      if (sh != 1u) { i = i / sh; if (i * sh != u32(ty)) { continue; } }
      if (i >= oh) { continue; }
      let dyr = dyg + op / kh * plane + i * ow;
      for (var q = 0u; q < kw; q++) {
        let tx = tx0 - i32(q * dw);
        if (tx < 0) { break; }
        var j = u32(tx);
        if (sw != 1u) { j = j / sw; if (j * sw != u32(tx)) { continue; } }
        if (j >= ow) { continue; }
        let v = in0[dyr + j];
        let s = (rr * kw + q) * ${r / 4}u;
${acc.add("        ")}
      }
    }
  }
  let o = (b * cIn + g * cg + m0) * hw + pos;
${acc.store((m) => `o + ${m} * hw`)}
}`;
}

/**
 * `conv2dBackpropFilter`, `R` output channels per tile: in0 = x (gathered), in1 = dy (staged per
 * `STAGE / R` output positions). Span `s` of the reduction writes `out[s·cOut·N + …]`.
 */
function backpropFilterCode(r: number): string {
  const acc = accumulators(r);
  return `${bindings(2)}
${MAIN} {
  ${UNPACK}
  let m0 = wid.z % mTiles * ${r}u; let split = wid.z / mTiles % splits; let g = wid.z / (mTiles * splits);
  let c = cl / khw; let pq = cl % khw;
  let oy = i32(pq / kw * dh) - ph; let ox = i32(pq % kw * dw) - pw;
  let xc = (g * cg + c) * hw;
${acc.declare}
  let k0 = split * kSpan;
  let k1 = min(n * plane, k0 + kSpan);
  for (var c0 = k0; c0 < k1; c0 += chunk) {
    let count = min(chunk, k1 - c0);
${stage(r, `count * ${r}u`, `in1[((c0 + t) / plane * cOut + g * og + min(m0 + m, M - 1u)) * plane + (c0 + t) % plane]`)}
    var b = c0 / plane; var i = c0 % plane / ow; var j = c0 % ow;
    for (var t = 0u; t < count; t++) {
      let y = i32(i * sh) + oy; let x = i32(j * sw) + ox;
      if (inside && y >= 0 && y < i32(h) && x >= 0 && x < i32(w)) {
        let v = in0[b * cIn * hw + xc + u32(y) * w + u32(x)];
        let s = t * ${r / 4}u;
${acc.add("        ")}
      }
      j++;
      if (j == ow) { j = 0u; i++; if (i == oh) { i = 0u; b++; } }
    }
  }
  let o = (split * cOut + g * og + m0) * N + cl;
${acc.store((m) => `o + ${m} * N`)}
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

/** One pipeline per tile height, built on first use. */
function codeCache(make: (r: number) => string): (r: number) => string {
  const cache = new Map<number, string>();
  return (r) => {
    let code = cache.get(r);
    if (!code) cache.set(r, code = make(r));
    return code;
  };
}
const forwardCodes = codeCache(forwardCode);
const backpropInputCodes = codeCache(backpropInputCode);
const backpropFilterCodes = codeCache(backpropFilterCode);

/** A launch: GEMM rows and columns, tile height, staged rows per chunk, reduction span and spans. */
interface Launch {
  readonly m: number;
  readonly n: number;
  readonly r: number;
  readonly chunk: number;
  readonly kSpan: number;
  readonly splits: number;
}

function params(g: ConvGeometry, l: Launch): number[] {
  const { n, cIn, h, w, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og } = g;
  const mTiles = Math.ceil(l.m / l.r);
  return [
    ...[n, cIn, h, w, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg, og],
    ...[l.m, l.n, mTiles, l.chunk, l.kSpan, l.splits],
  ];
}

/**
 * The grid of a launch: column tiles folded over x and y, `groups × splits × row tiles` over z.
 *
 * @throws {RangeError} If z exceeds the dispatch limit, suggesting `--backend cpu`.
 */
function launchGrid(op: string, g: ConvGeometry, l: Launch): [number, number, number] {
  const tiles = Math.ceil(l.n / TILE_N);
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
 * Runs `conv2d` or `conv2dBackpropInput` (GEMMs whose A chunks are whole kernel rows), or returns
 * zeros when there is nothing to sum.
 *
 * @throws {RangeError} If one kernel row of the tile does not fit the staging memory.
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
  if (outputSize === 0 || g.cg === 0 || g.og === 0) return gpu.create(outputSize);
  const r = tileRows(m);
  const chunk = Math.floor(STAGE / (g.kw * r));
  if (chunk === 0) {
    throw new RangeError(
      `Cannot run op "${op}" on backend "webgpu": a kernel ${g.kw} wide exceeds the ${
        STAGE / r
      } taps of a staged row; use --backend cpu`,
    );
  }
  const l: Launch = { m, n, r, chunk, kSpan: 0, splits: 1 };
  return runKernel(gpu, {
    op,
    code: code(r),
    inputs,
    outputSize,
    params: params(g, l),
    workgroups: launchGrid(op, g, l),
  });
}

/**
 * The `conv2d` kernel for the `"webgpu"` backend: an implicit GEMM whose invocations each compute one
 * output position for 4–16 output channels.
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
 * The `conv2dBackpropInput` kernel for the `"webgpu"` backend: an implicit GEMM over input positions
 * that gathers `dy` (the transposed convolution without atomics or col2im).
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

/** Smallest reduction span of one `conv2dBackpropFilter` workgroup. */
const MIN_SPAN = 256;
/** Workgroups that `conv2dBackpropFilter` aims for when it splits the reduction. */
const TARGET_WORKGROUPS = 256;

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
    const m = g.og, n = g.cg * g.kh * g.kw, r = tileRows(m);
    const tiles = g.groups * Math.ceil(m / r) * Math.ceil(n / TILE_N);
    const wanted = Math.max(1, Math.floor(TARGET_WORKGROUPS / tiles));
    const kSpan = Math.max(MIN_SPAN, Math.ceil(k / wanted));
    const l: Launch = { m, n, r, chunk: STAGE / r, kSpan, splits: Math.ceil(k / kSpan) };
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
