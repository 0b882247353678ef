/**
 * WebGPU kernels of `conv2d`, `conv2dBackpropInput` and `conv2dBackpropFilter`: each one is an
 * implicit GEMM per channel group whose operand tiles are gathered straight from the NCHW tensors
 * (no im2col buffer), on one shared WGSL template.
 *
 * | op                     | rows (M)          | columns (N)                | reduction (K)             |
 * | ---------------------- | ----------------- | -------------------------- | ------------------------- |
 * | `conv2d`               | output channel    | output position `(b, i, j)` | filter tap `(c, p, q)`   |
 * | `conv2dBackpropInput`  | input channel     | input position `(b, y, x)`  | `(o, p, q)`              |
 * | `conv2dBackpropFilter` | output channel    | filter tap `(c, p, q)`      | output position `(b, i, j)` |
 *
 * A 256-invocation workgroup computes a 16×64 output tile: each invocation keeps 4 accumulators (one
 * row, 4 columns 16 apart), and per 16-deep reduction step loads one A value and 4 B values into
 * workgroup memory. The index arithmetic of a column (its divisions) is done once per invocation;
 * that of a reduction index once per step and shared by its 4 loads. `conv2dBackpropInput` is the
 * gather form of the transposed convolution: a B entry is `dy` at `((y + ph − p·dh)/sh, (x + pw − q·dw)/sw)`
 * when both divide exactly and lie inside, else zero. `conv2dBackpropFilter` has tiny outputs and a
 * long reduction (every position of the batch), so it splits the reduction into chunks of at least
 * 256 across workgroups (split-K), writes partial tiles to a scratch buffer and sums them in a second
 * pass.
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

/** Rows of an output tile (and the workgroup's height). */
const BM = 16;
/** Reduction depth of one step (and the workgroup's width). */
const BK = 16;
/** Columns each invocation accumulates; the tile is `BM × (BK·COLS)`. */
const COLS = 4;
/** Columns of an output tile. */
const BN = BK * COLS;
/** Largest z extent of a dispatch. */
const MAX_GROUPS = 65535;

/** The index snippets that make the shared GEMM template one of the three ops. */
interface GemmSpec {
  /** Per column `u` (`col${u}` given): declarations used by `loadB` and `store`, and `okc${u}`. */
  readonly column: (u: number) => string;
  /** Per reduction step (`kb = t + lid.y` given): declarations shared by the `loadB` calls. */
  readonly step: string;
  /** Per column `u`: assigns `v` (already 0.0) from B at row `kb`, when `kb < kEnd && okc${u}`. */
  readonly loadB: (u: number) => string;
  /** Assigns `v` (already 0.0) from A at `(row, ka)`, when `row < M && ka < kEnd`. */
  readonly loadA: string;
  /** Per column `u`: the output index of `(row, col${u})`, when `row < M && okc${u}`. */
  readonly store: (u: number) => string;
}

const unroll = (f: (u: number) => string) => Array.from({ length: COLS }, (_, u) => f(u)).join("\n");

/**
 * Parameter words shared by the three ops: the geometry, then the GEMM's `M, N, K`, the reduction
 * chunk of one workgroup, the number of row tiles and of reduction splits.
 */
const PARAMS = `
  let n = params[0]; let cIn = params[1]; let h = params[2]; let w = params[3];
  let cOut = params[4]; let kh = params[5]; let kw = params[6]; let oh = params[7]; let ow = params[8];
  let sh = params[9]; let sw = params[10]; let ph = i32(params[11]); let pw = i32(params[12]);
  let dh = params[13]; let dw = params[14]; let cg = params[15]; let og = params[16];
  let M = params[17]; let N = params[18]; let K = params[19]; let kChunk = params[20];
  let mTiles = params[21]; let splits = params[22];
  let khw = kh * kw; let hw = h * w; let plane = oh * ow;`;

/** WGSL of an implicit GEMM: in0 is gathered as B, in1 as A; out is `[splits][…]`, see `store`. */
function gemmCode(spec: GemmSpec): string {
  return `${bindings(2)}
var<workgroup> ta: array<array<f32, ${BK}>, ${BM}>;
var<workgroup> tb: array<array<f32, ${BN}>, ${BK}>;
@compute @workgroup_size(${BK}, ${BM}) fn main(@builtin(workgroup_id) wid: vec3u,
    @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  ${PARAMS}
  let n0 = (wid.x + wid.y * nwg.x) * ${BN}u;
  if (n0 >= N) { return; }
  let mTile = wid.z % mTiles;
  let split = (wid.z / mTiles) % splits;
  let g = wid.z / (mTiles * splits);
  let row = mTile * ${BM}u + lid.y;
  let kBegin = split * kChunk;
  let kEnd = min(K, kBegin + kChunk);
${unroll((u) => `  let col${u} = n0 + lid.x + ${u * BK}u;\n${spec.column(u)}`)}
${unroll((u) => `  var acc${u} = 0.0;`)}
  for (var t = kBegin; t < kEnd; t += ${BK}u) {
    {
      let ka = t + lid.x;
      var v = 0.0;
      if (row < M && ka < kEnd) { ${spec.loadA} }
      ta[lid.y][lid.x] = v;
    }
    let kb = t + lid.y;
    let okk = kb < kEnd;
    ${spec.step}
${
    unroll((u) =>
      `    {
      var v = 0.0;
      if (okk && okc${u}) { ${spec.loadB(u)} }
      tb[lid.y][lid.x + ${u * BK}u] = v;
    }`
    )
  }
    workgroupBarrier();
    if (row < M) {
      for (var kk = 0u; kk < ${BK}u; kk++) {
        let a = ta[lid.y][kk];
${unroll((u) => `        acc${u} += a * tb[kk][lid.x + ${u * BK}u];`)}
      }
    }
    workgroupBarrier();
  }
  if (row < M) {
${unroll((u) => `    if (okc${u}) { out[${spec.store(u)}] = acc${u}; }`)}
  }
}`;
}

/** `conv2d`: B = x gathered at output position `col` and filter tap `kb`; A = w. */
const forwardCode = gemmCode({
  column: (u) => `
  let okc${u} = col${u} < N;
  let b${u} = col${u} / plane; let r${u} = col${u} % plane;
  let iy${u} = i32(r${u} / ow * sh) - ph; let ix${u} = i32(r${u} % ow * sw) - pw;
  let xb${u} = (b${u} * cIn + g * cg) * hw;`,
  step: `
    let c = kb / khw; let pq = kb % khw;
    let oy = i32(pq / kw * dh); let ox = i32(pq % kw * dw); let xc = c * hw;`,
  loadB: (u) => `
        let y = iy${u} + oy; let x = ix${u} + ox;
        if (y >= 0 && y < i32(h) && x >= 0 && x < i32(w)) { v = in0[xb${u} + xc + u32(y) * w + u32(x)]; }`,
  loadA: `v = in1[(g * og + row) * K + ka];`,
  store: (u) => `(b${u} * cOut + g * og + row) * plane + r${u}`,
});

/** `conv2dBackpropInput`: B = dy gathered at input position `col` and `(o, p, q)` = `kb`; A = w. */
const backpropInputCode = gemmCode({
  column: (u) => `
  let okc${u} = col${u} < N;
  let b${u} = col${u} / hw; let r${u} = col${u} % hw;
  let ty${u} = i32(r${u} / w) + ph; let tx${u} = i32(r${u} % w) + pw;
  let db${u} = (b${u} * cOut + g * og) * plane;`,
  step: `
    let o = kb / khw; let pq = kb % khw;
    let oy = i32(pq / kw * dh); let ox = i32(pq % kw * dw); let dc = o * plane;`,
  loadB: (u) => `
        let y = ty${u} - oy; let x = tx${u} - ox;
        if (y >= 0 && x >= 0) {
          let i = u32(y) / sh; let j = u32(x) / sw;
          if (i * sh == u32(y) && j * sw == u32(x) && i < oh && j < ow) { v = in0[db${u} + dc + i * ow + j]; }
        }`,
  loadA: `let o = ka / khw; v = in1[((g * og + o) * cg + row) * khw + ka % khw];`,
  store: (u) => `(b${u} * cIn + g * cg + row) * hw + r${u}`,
});

/**
 * `conv2dBackpropFilter`: B = x gathered at filter tap `col` and output position `kb`; A = dy.
 * Split `s` of the reduction writes `out[s·cOut·N + …]`.
 */
const backpropFilterCode = gemmCode({
  column: (u) => `
  let okc${u} = col${u} < N;
  let c${u} = col${u} / khw; let pq${u} = col${u} % khw;
  let oy${u} = i32(pq${u} / kw * dh) - ph; let ox${u} = i32(pq${u} % kw * dw) - pw;
  let xc${u} = (g * cg + c${u}) * hw;`,
  step: `
    let b = kb / plane; let r = kb % plane;
    let iy = i32(r / ow * sh); let ix = i32(r % ow * sw); let xb = b * cIn * hw;`,
  loadB: (u) => `
        let y = iy + oy${u}; let x = ix + ox${u};
        if (y >= 0 && y < i32(h) && x >= 0 && x < i32(w)) { v = in0[xb + xc${u} + u32(y) * w + u32(x)]; }`,
  loadA: `v = in1[((ka / plane) * cOut + g * og + row) * plane + ka % plane];`,
  store: (u) => `(split * cOut + g * og + row) * N + col${u}`,
});

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

/** The parameter words of `gemmCode`. */
function gemmParams(
  g: ConvGeometry,
  mnk: readonly [number, number, number],
  kChunk: number,
  splits: number,
): number[] {
  return [
    g.n,
    g.cIn,
    g.h,
    g.w,
    g.cOut,
    g.kh,
    g.kw,
    g.oh,
    g.ow,
    g.sh,
    g.sw,
    g.ph,
    g.pw,
    g.dh,
    g.dw,
    g.cg,
    g.og,
    ...mnk,
    kChunk,
    Math.ceil(mnk[0] / BM),
    splits,
  ];
}

/**
 * The grid of a GEMM: column tiles folded over x and y, `groups × splits × row tiles` over z.
 *
 * @throws {RangeError} If z exceeds the dispatch limit (thousands of groups), suggesting `--backend cpu`.
 */
function gemmGrid(
  op: string,
  g: ConvGeometry,
  m: number,
  nCols: number,
  splits: number,
): [number, number, number] {
  const [x, y] = grid(Math.ceil(nCols / BN) * 256);
  const z = g.groups * splits * Math.ceil(m / BM);
  if (z > MAX_GROUPS) {
    throw new RangeError(
      `Cannot run op "${op}" on backend "webgpu": ${g.groups} groups need ${z} workgroup layers, over the limit of ${MAX_GROUPS}; use --backend cpu`,
    );
  }
  return [x, y, z];
}

/** Zeros of `size` floats, for outputs whose reduction or extent is empty. */
function zeros(gpu: WebGpuBackend, size: number): GpuStorage {
  return gpu.create(size);
}

function runGemm(
  gpu: WebGpuBackend,
  op: string,
  code: string,
  inputs: readonly KernelInput<GpuStorage>[],
  g: ConvGeometry,
  mnk: readonly [number, number, number],
  outputSize: number,
): GpuStorage {
  const [m, nCols, k] = mnk;
  if (outputSize === 0 || k === 0) return zeros(gpu, outputSize);
  return runKernel(gpu, {
    op,
    code,
    inputs,
    outputSize,
    params: gemmParams(g, mnk, k, 1),
    workgroups: gemmGrid(op, g, m, nCols, 1),
  });
}

/**
 * The `conv2d` kernel for the `"webgpu"` backend: an implicit GEMM with 16×64 tiles in workgroup
 * memory, one per (group, output-channel tile, position tile).
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
    const mnk = [g.og, g.n * g.oh * g.ow, g.cg * g.kh * g.kw] as const;
    return runGemm(backend as unknown as WebGpuBackend, "conv2d", forwardCode, [x, w], g, mnk, sizeOf(outShape));
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
    const g = convGeometry("conv2dBackpropInput", attrs.inputShape, w.shape, attrs);
    const mnk = [g.cg, g.n * g.h * g.w, g.og * g.kh * g.kw] as const;
    const gpu = backend as unknown as WebGpuBackend;
    return runGemm(gpu, "conv2dBackpropInput", backpropInputCode, [dy, w], g, mnk, sizeOf(outShape));
  },
});

/** Smallest reduction chunk of one `conv2dBackpropFilter` workgroup (a multiple of `BK`). */
const MIN_CHUNK = 256;
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
    const size = sizeOf(outShape);
    const m = g.og, nCols = g.cg * g.kh * g.kw, k = g.n * g.oh * g.ow;
    if (size === 0 || k === 0) return zeros(gpu, size);
    const tiles = g.groups * Math.ceil(m / BM) * Math.ceil(nCols / BN);
    const wanted = Math.max(1, Math.floor(TARGET_WORKGROUPS / tiles));
    const kChunk = Math.max(MIN_CHUNK, Math.ceil(k / wanted / BK) * BK);
    const splits = Math.ceil(k / kChunk);
    const params = gemmParams(g, [m, nCols, k], kChunk, splits);
    const workgroups = gemmGrid(op, g, m, nCols, splits);
    if (splits === 1) {
      return runKernel(gpu, { op, code: backpropFilterCode, inputs: [x, dy], outputSize: size, params, workgroups });
    }
    assertBindable(gpu, op, [x.storage.size, dy.storage.size, splits * size]);
    const partial = gpu.acquire(splits * size * 4);
    record(gpu, backpropFilterCode, [x.storage.buffer, dy.storage.buffer, partial, paramsBuffer(gpu, params)], workgroups);
    const out = gpu.acquire(size * 4);
    record(gpu, sumSplitsCode, [partial, out, paramsBuffer(gpu, [size, splits])], grid(size));
    gpu.release(partial); // with the encoder open, the buffer returns to the pool after the flush
    return { buffer: out, size };
  },
});
