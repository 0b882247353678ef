/**
 * im2col and col2im for convolution kernels, and a workspace in the memory that the WebAssembly
 * kernels work in, so that a convolution runs im2col, `gemm` and col2im without copying its large
 * matrices in or out.
 *
 * With the `"wasm"` kernels, `gemmWorkspace` returns views of the shared WebAssembly memory; `gemm`
 * reads and writes such views in place, and `im2col` / `col2im` into or from such a view run in
 * WebAssembly SIMD on every thread. Anywhere else (the `"ts"` kernels, arrays that are not workspace
 * views, memory that cannot be shared) the same calls run plain TypeScript loops, with the same
 * results.
 * @module
 */
import {
  convGradWasm,
  convRowsWasm,
  convWasm,
  foldWasm,
  type PlaneGeometry,
  unfoldWasm,
  workspaceWasm,
} from "./_gemm_wasm.ts";
import { addChannelBias, reluChannels } from "./simd.ts";
import { settings } from "./_settings.ts";
import { KERNEL_SHAPES } from "./_gemm_kernel.ts";

/**
 * Where a convolution reads its input, for `im2col` and `col2im`. The column matrix of images
 * `[image0, image0 + images)` and channels `[channel0, channel0 + channels)` of an NCHW tensor
 * `[·, xChannels, height, width]` is `[channels·kh·kw, images·oh·ow]`: rows ordered (channel,
 * kernel row, kernel column), columns (image, output row, output column), zero where a tap falls
 * in the padding.
 */
export interface Im2colGeometry {
  /** Images in the column matrix. */
  readonly images: number;
  /** Channels in the column matrix. */
  readonly channels: number;
  /** Height and width of an input plane. */
  readonly height: number;
  readonly width: number;
  /** Kernel height and width. */
  readonly kernel: readonly [number, number];
  /** Step between output positions, default `[1, 1]`. */
  readonly stride?: readonly [number, number];
  /** Zeros on both sides, default `[0, 0]`. */
  readonly padding?: readonly [number, number];
  /** Spacing between kernel taps, default `[1, 1]`. */
  readonly dilation?: readonly [number, number];
  /** First image and first channel taken from the tensor (default 0). */
  readonly image0?: number;
  readonly channel0?: number;
  /** Channels per image of the tensor (default `channels`). */
  readonly xChannels?: number;
}

/** Options of `convolve`: the input's geometry, the filters, and the output. */
export interface ConvolveOptions extends Im2colGeometry {
  /** Output values `[·, yChannels, oh, ow]` (NCHW), written for the images of the geometry. */
  readonly y: Float32Array;
  /** Filters applied (output channels written). */
  readonly filters: number;
  /** First filter: row `filter0` of `w` `[·, channels·kh·kw]`, and output channel `filter0` of `y` (default 0). */
  readonly filter0?: number;
  /** Channels per image of `y` (default `filters`). */
  readonly yChannels?: number;
  /**
   * Per-filter biases `[·]`: filter f's outputs add `bias[filter0 + f]` (the row convolution in
   * its registers, the other paths after the product). None when omitted.
   */
  readonly bias?: Float32Array;
  /**
   * Whether a ReLU follows (`max(x, 0)`, NaN staying NaN, as the `relu` op): the row convolution applies it as
   * it stores, the other path after the bias. Default false.
   */
  readonly relu?: boolean;
}

/** Resolves and checks a geometry against the tensor and cols lengths. */
function resolve(op: string, g: Im2colGeometry, tensor: number, cols: number): PlaneGeometry {
  const [kh, kw] = g.kernel, [sh, sw] = g.stride ?? [1, 1], [ph, pw] = g.padding ?? [0, 0];
  const [dh, dw] = g.dilation ?? [1, 1];
  const image0 = g.image0 ?? 0, channel0 = g.channel0 ?? 0, xChannels = g.xChannels ?? g.channels;
  const { images, channels, height, width } = g;
  const oh = Math.floor((height + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((width + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const ints = [images, channels, height, width, kh, kw, sh, sw, ph, pw, dh, dw, image0, channel0, xChannels];
  if (
    ints.some((v) => !Number.isInteger(v) || v < 0) || [kh, kw, sh, sw, dh, dw].some((v) => v < 1) ||
    oh < 1 || ow < 1 || channel0 + channels > xChannels
  ) {
    throw new RangeError(
      `Cannot ${op} with geometry ${
        JSON.stringify(g)
      }: sizes must be non-negative integers, kernel, stride and dilation positive, the output non-empty and the channels within xChannels`,
    );
  }
  const need = (image0 + images) * xChannels * height * width,
    colsNeed = channels * kh * kw * images * oh * ow;
  if (tensor < need || cols < colsNeed) {
    throw new RangeError(
      `Cannot ${op}: the tensor holds ${tensor} values and cols ${cols}; they need ${need} and ${colsNeed}`,
    );
  }
  return {
    images,
    channels,
    image0,
    channel0,
    xChannels,
    height,
    width,
    kh,
    kw,
    oh,
    ow,
    sh,
    sw,
    ph,
    pw,
    dh,
    dw,
  };
}

let tsWorkspace = new ArrayBuffer(0);

/**
 * Work arrays for one kernel call: with the `"wasm"` kernels, views of the WebAssembly memory that
 * `gemm`, `im2col` and `col2im` use in place (no copy in or out); otherwise views of one reused
 * buffer. Either way the memory is reused by the next call of `gemmWorkspace`: use the views only
 * within the current kernel call, and never keep them. Their contents are garbage.
 *
 * @param floats The length of each array.
 * @returns One array per length, none overlapping.
 * @throws {RangeError} If a length is not a non-negative integer.
 * @example Two work arrays
 * ```ts
 * import { gemmWorkspace } from "@cnnlab/backend-cpu/im2col";
 * import assert from "node:assert/strict";
 * const [a, b] = gemmWorkspace([6, 4]);
 * a.fill(1);
 * b.fill(2);
 * assert.deepEqual([a.length, b.length, a[5], b[0]], [6, 4, 1, 2]);
 * ```
 */
export function gemmWorkspace(floats: readonly number[]): Float32Array[] {
  for (const f of floats) {
    if (!Number.isInteger(f) || f < 0) {
      throw new RangeError(`Cannot make a workspace array of ${f} floats: use a non-negative integer`);
    }
  }
  if (settings.kernels === "wasm") {
    const views = workspaceWasm(settings.relaxed, floats);
    if (views) return views;
  }
  const offsets: number[] = [];
  let bytes = 0;
  for (const f of floats) {
    offsets.push(bytes);
    bytes += Math.ceil(f / 4) * 16;
  }
  if (tsWorkspace.byteLength < bytes) {
    tsWorkspace = new ArrayBuffer(Math.max(bytes, 2 * tsWorkspace.byteLength));
  }
  return floats.map((f, i) => new Float32Array(tsWorkspace, offsets[i], f));
}

/** Output columns `[ox0, ox1)` whose input column `ox·sw + off` lies in `[0, w)`. */
function validColumns(off: number, sw: number, w: number, ow: number): [number, number] {
  const ox0 = off >= 0 ? 0 : Math.min(ow, Math.ceil(-off / sw));
  const ox1 = Math.max(ox0, Math.min(ow, Math.floor((w - 1 - off) / sw) + 1));
  return [ox0, ox1];
}

/** The TypeScript im2col: whole output rows, the valid range of each tap computed once. */
function im2colTs(x: Float32Array, cols: Float32Array, g: PlaneGeometry): void {
  const { xChannels, height: h, width: w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, channels, images } = g;
  const hw = h * w, plane = oh * ow, n = images * plane;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < kh; p++) {
      const offY = p * dh - ph;
      for (let q = 0; q < kw; q++, row++) {
        const offX = q * dw - pw;
        const [ox0, ox1] = validColumns(offX, sw, w, ow);
        for (let b = 0; b < images; b++) {
          const src = ((g.image0 + b) * xChannels + g.channel0 + c) * hw + offX;
          let dst = row * n + b * plane;
          for (let oy = 0; oy < oh; oy++, dst += ow) {
            const iy = oy * sh + offY;
            if (iy < 0 || iy >= h) {
              cols.fill(0, dst, dst + ow);
              continue;
            }
            const s = src + iy * w;
            for (let ox = 0; ox < ox0; ox++) cols[dst + ox] = 0;
            if (sw === 1) { for (let ox = ox0; ox < ox1; ox++) cols[dst + ox] = x[s + ox]; }
            else for (let ox = ox0; ox < ox1; ox++) cols[dst + ox] = x[s + ox * sw];
            for (let ox = ox1; ox < ow; ox++) cols[dst + ox] = 0;
          }
        }
      }
    }
  }
}

/** The TypeScript col2im: zeroes the planes, then adds every column value back. */
function col2imTs(cols: Float32Array, dx: Float32Array, g: PlaneGeometry): void {
  const { xChannels, height: h, width: w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, channels, images } = g;
  const hw = h * w, plane = oh * ow, n = images * plane;
  for (let b = 0; b < images; b++) {
    const at = ((g.image0 + b) * xChannels + g.channel0) * hw;
    dx.fill(0, at, at + channels * hw);
  }
  let row = 0;
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < kh; p++) {
      const offY = p * dh - ph;
      for (let q = 0; q < kw; q++, row++) {
        const offX = q * dw - pw;
        const [ox0, ox1] = validColumns(offX, sw, w, ow);
        if (ox0 >= ox1) continue;
        for (let b = 0; b < images; b++) {
          const dst = ((g.image0 + b) * xChannels + g.channel0 + c) * hw + offX;
          let src = row * n + b * plane;
          for (let oy = 0; oy < oh; oy++, src += ow) {
            const iy = oy * sh + offY;
            if (iy < 0 || iy >= h) continue;
            const d = dst + iy * w;
            if (sw === 1) { for (let ox = ox0; ox < ox1; ox++) dx[d + ox] += cols[src + ox]; }
            else for (let ox = ox0; ox < ox1; ox++) dx[d + ox * sw] += cols[src + ox];
          }
        }
      }
    }
  }
}

/**
 * Unfolds images of an NCHW tensor into the column matrix `[channels·kh·kw, images·oh·ow]` (see
 * `Im2colGeometry`). With the `"wasm"` kernels and `cols` from `gemmWorkspace`, it runs in
 * WebAssembly on every thread; otherwise in TypeScript.
 *
 * @param x The NCHW tensor's values.
 * @param cols Destination; its first `channels·kh·kw·images·oh·ow` values are written.
 * @param geometry Images, channels, plane and kernel sizes, stride, padding and dilation.
 * @returns Nothing; `cols` is written in place.
 * @throws {RangeError} If a size is invalid or an array is too short for the geometry.
 * @example A 2×2 kernel over one 3×3 plane
 * ```ts
 * import { im2col } from "@cnnlab/backend-cpu/im2col";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * const cols = new Float32Array(16);
 * im2col(x, cols, { images: 1, channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * assert.deepEqual([...cols], [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);
 * ```
 */
export function im2col(x: Float32Array, cols: Float32Array, geometry: Im2colGeometry): void {
  const g = resolve("unfold images (im2col)", geometry, x.length, cols.length);
  if (g.images === 0 || g.channels === 0) return;
  if (settings.kernels === "wasm" && unfoldWasm(settings.relaxed, settings.threads, x, cols, g)) return;
  im2colTs(x, cols, g);
}

/**
 * Folds a column matrix back onto images of an NCHW tensor, the adjoint of `im2col`: each image and
 * channel of the geometry is overwritten with the sum of the column values read from each of its
 * positions. With the `"wasm"` kernels and `cols` from `gemmWorkspace`, it runs in WebAssembly on
 * every thread; otherwise in TypeScript.
 *
 * @param cols The column matrix `[channels·kh·kw, images·oh·ow]`.
 * @param dx The NCHW tensor; only the images and channels of the geometry are written.
 * @param geometry As for `im2col`.
 * @returns Nothing; `dx` is written in place.
 * @throws {RangeError} If a size is invalid or an array is too short for the geometry.
 * @example The overlap of a 2×2 kernel on a 3×3 plane counts each position's uses
 * ```ts
 * import { col2im } from "@cnnlab/backend-cpu/im2col";
 * import assert from "node:assert/strict";
 * const dx = new Float32Array(9);
 * col2im(new Float32Array(16).fill(1), dx, { images: 1, channels: 1, height: 3, width: 3, kernel: [2, 2] });
 * assert.deepEqual([...dx], [1, 2, 1, 2, 4, 2, 1, 2, 1]);
 * ```
 */
export function col2im(cols: Float32Array, dx: Float32Array, geometry: Im2colGeometry): void {
  const g = resolve("fold columns (col2im)", geometry, dx.length, cols.length);
  if (g.images === 0 || g.channels === 0) return;
  if (settings.kernels === "wasm" && foldWasm(settings.relaxed, settings.threads, cols, dx, g)) return;
  col2imTs(cols, dx, g);
}

/**
 * Whether the implicit convolution beats im2col and `gemm` (measured on LeNet-5's layers: 6→16
 * filters of 6×5×5 took 0.57 ms instead of 0.86 ms at batch 64, 1→6 filters of 5×5 no less): its
 * vectors run along the filters, so they should fill them (at least 3/4 of the lanes), the depth
 * should amortise a tile's set-up (at least 64 taps), and the weights, read again for every tile,
 * should stay in L1 (at most 32 KiB).
 */
function implicitPays(filters: number, k: number): boolean {
  const lanes = Math.ceil(filters / IMPLICIT_LANES) * IMPLICIT_LANES;
  return k >= 64 && filters >= 0.75 * lanes && lanes * k * 4 <= 32768;
}

/**
 * Whether the row convolution (vectors along output columns) beats the other paths: stride 1, rows
 * of at least 8 columns that waste at most a quarter of their last vector, and few filters (many
 * filters share each column of the input better in a GEMM).
 */
function rowsPay(g: PlaneGeometry, filters: number): boolean {
  const ow4 = Math.ceil(g.ow / 4) * 4;
  return g.sh === 1 && g.sw === 1 && g.ow >= 8 && ow4 <= 1.25 * g.ow && filters <= ROWS_MAX_FILTERS;
}

/** Most filters for which `rowsPay`. */
const ROWS_MAX_FILTERS = 16;

/** Output channels per vector group of the implicit convolution (`nr` of the kernels). */
const IMPLICIT_LANES = KERNEL_SHAPES.relaxed.nr;

/**
 * Convolves images of an NCHW tensor with filters without building the column matrix: each output
 * is `Σ w[f, c, p, q] · x[b, c, oy·sh + p·dh − ph, ox·sw + q·dw − pw]` (zero outside the image),
 * computed in WebAssembly SIMD on every thread, with vectors along output columns (stride 1, up to
 * 16 filters, rows of 8 or more columns: LeNet-5's layers) or along filters ("implicit GEMM": a
 * few dozen filters over a depth of 64 or more). It runs only with the `"wasm"` kernels and where
 * one of these beats `im2col` and `gemm`; otherwise (or when the memory cannot grow) it does
 * nothing and returns false, and the caller uses `im2col` and `gemm`.
 *
 * @param x The NCHW tensor's values.
 * @param w Filters `[·, channels, kh, kw]` (rows of `channels·kh·kw` values).
 * @param options The geometry (as for `im2col`), the filters and the output, and the bias and ReLU
 * that follow (applied when it runs).
 * @returns Whether it ran.
 * @throws {RangeError} If a size is invalid or an array is too short.
 * @example Eight filters of 4 × 4 × 4 taps over a 5×5 image: outputs are sums of 64 products
 * ```ts
 * import { convolve } from "@cnnlab/backend-cpu/im2col";
 * import assert from "node:assert/strict";
 * const x = new Float32Array(4 * 5 * 5).fill(1);
 * const w = Float32Array.from({ length: 8 * 64 }, (_, i) => Math.floor(i / 64)); // filter f is all f
 * const y = new Float32Array(8 * 2 * 2);
 * const options = { images: 1, channels: 4, height: 5, width: 5, kernel: [4, 4] as const, filters: 8, y };
 * if (convolve(x, w, options)) assert.deepEqual([...y.subarray(28)], [7 * 64, 7 * 64, 7 * 64, 7 * 64]);
 * ```
 */
export function convolve(x: Float32Array, w: Float32Array, options: ConvolveOptions): boolean {
  const filter0 = options.filter0 ?? 0, yChannels = options.yChannels ?? options.filters;
  const { y, filters } = options;
  const g = resolve("convolve", options, x.length, Infinity);
  const k = g.channels * g.kh * g.kw;
  if (
    !Number.isInteger(filters) || filters < 1 || !Number.isInteger(filter0) || filter0 < 0 ||
    filter0 + filters > yChannels || w.length < (filter0 + filters) * k ||
    y.length < (g.image0 + g.images) * yChannels * g.oh * g.ow ||
    (options.bias !== undefined && options.bias.length < filter0 + filters)
  ) {
    throw new RangeError(
      `Cannot convolve: filters ${filters} from ${filter0} of ${yChannels} output channels need w of ${
        (filter0 + filters) * k
      } values (it has ${w.length}), y of ${
        (g.image0 + g.images) * yChannels * g.oh * g.ow
      } (it has ${y.length}) and a bias, when given, of ${
        filter0 + filters
      } (it has ${options.bias?.length})`,
    );
  }
  if (settings.kernels !== "wasm") return false;
  const rows = rowsPay(g, filters);
  if (!rows && !implicitPays(filters, k)) return false;
  if (g.images === 0 || g.channels === 0) return true;
  const target = { filters, filter0, yChannels };
  if (rows) {
    const fused = { ...target, bias: options.bias, relu: options.relu };
    return convRowsWasm(settings.relaxed, settings.threads, x, w, y, g, fused);
  }
  if (!convWasm(settings.relaxed, settings.threads, x, w, y, g, target)) return false;
  const block = { image0: g.image0, images: g.images, yChannels, filter0, filters, plane: g.oh * g.ow };
  if (options.bias) addChannelBias(y, options.bias, block);
  if (options.relu) reluChannels(y, block);
  return true;
}

/** Largest image (input planes and output gradient) that `convolveFilterGradient` takes on: 256 KiB. */
const GRADIENT_MAX_IMAGE_BYTES = 1 << 18;

/** Options of `convolveFilterGradient`: the input's geometry, the filters, and dy and dw. */
export interface ConvolveFilterGradientOptions extends Im2colGeometry {
  /** The output gradient `[·, dyChannels, oh, ow]` (NCHW), read for the images of the geometry. */
  readonly dy: Float32Array;
  /** The filter gradient `[·, channels·kh·kw]`; rows `[filter0, filter0 + filters)` are added to. */
  readonly dw: Float32Array;
  /** Filters (rows of `dw`, channels of `dy`). */
  readonly filters: number;
  /** First filter (default 0). */
  readonly filter0?: number;
  /** Channels per image of `dy` (default `filters`). */
  readonly dyChannels?: number;
}

/**
 * Adds a convolution's filter gradient to `dw` without building the column matrix:
 * `dw[filter0 + f, (c, p, q)] += Σ_(b, oy, ox) dy[b, filter0 + f, oy, ox] · x[b, c, oy·sh + p·dh − ph,
 * ox·sw + q·dw − pw]` (zero outside the image), in WebAssembly SIMD on every thread, four output
 * columns per vector. It runs only with the `"wasm"` kernels, a column stride of 1, output rows of a
 * multiple of 4 (at least 8) columns and images of at most 256 KiB (input planes and output
 * gradient), where it beats `im2col` and `gemm` (LeNet-5's conv1);
 * otherwise it does nothing and returns false, and the caller uses `im2col` and `gemm`.
 *
 * @param x The NCHW input's values.
 * @param options The geometry (as for `im2col`), the filters, `dy` and `dw`.
 * @returns Whether it ran.
 * @throws {RangeError} If a size is invalid or an array is too short.
 * @example One filter of 1 × 1 × 1 over an 8-wide ramp: the gradient is Σ dy·x
 * ```ts
 * import { convolveFilterGradient } from "@cnnlab/backend-cpu/im2col";
 * import assert from "node:assert/strict";
 * const x = Float32Array.from({ length: 8 }, (_, i) => i);
 * const dw = new Float32Array(1);
 * const options = {
 *   images: 1, channels: 1, height: 1, width: 8, kernel: [1, 1] as const, filters: 1,
 *   dy: new Float32Array(8).fill(1), dw,
 * };
 * if (convolveFilterGradient(x, options)) assert.equal(dw[0], 28);
 * ```
 */
export function convolveFilterGradient(x: Float32Array, options: ConvolveFilterGradientOptions): boolean {
  const filter0 = options.filter0 ?? 0, dyChannels = options.dyChannels ?? options.filters;
  const { dy, dw, filters } = options;
  const g = resolve("compute a filter gradient", options, x.length, Infinity);
  const k = g.channels * g.kh * g.kw;
  if (
    !Number.isInteger(filters) || filters < 1 || !Number.isInteger(filter0) || filter0 < 0 ||
    filter0 + filters > dyChannels || dw.length < (filter0 + filters) * k ||
    dy.length < (g.image0 + g.images) * dyChannels * g.oh * g.ow
  ) {
    throw new RangeError(
      `Cannot compute a filter gradient: filters ${filters} from ${filter0} of ${dyChannels} channels need dw of ${
        (filter0 + filters) * k
      } values (it has ${dw.length}) and dy of ${
        (g.image0 + g.images) * dyChannels * g.oh * g.ow
      } (it has ${dy.length})`,
    );
  }
  // Rows with a remainder of columns, or short ones, cost more than streaming the column matrix;
  // and every tile of filters × taps reads the whole image, which should stay in L2.
  const imageBytes = (filters * g.oh * g.ow + g.channels * (g.height + 2 * g.ph) * (g.width + 2 * g.pw)) * 4;
  if (
    settings.kernels !== "wasm" || g.sw !== 1 || g.ow % 4 !== 0 || g.ow < 8 ||
    imageBytes > GRADIENT_MAX_IMAGE_BYTES
  ) return false;
  if (g.images === 0 || g.channels === 0) return true;
  return convGradWasm(settings.relaxed, settings.threads, x, dy, dw, g, { filters, filter0, dyChannels });
}
