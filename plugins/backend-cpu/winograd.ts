/**
 * 3×3 and 5×5 stride-1 convolution by Winograd's minimal filtering F(m×m, r×r) (Lavin and Gray,
 * 2016), m = 2, 3 or 4 (`WINOGRAD_SHAPES`; by default the one with the fewest multiplications for
 * the output's size): each m×m block of outputs costs n² = (m + r − 1)² multiplications per input
 * channel instead of m²·r² (36 instead of 144 for F(4×4, 3×3), 64 instead of 400 for F(4×4, 5×5)). The matrices come from the Toom-Cook construction (`_toom_cook.ts`). Every step is a call
 * of this package's WebAssembly kernels on views of their memory:
 *
 * 1. the image is copied into zero-padded planes whose size is a whole number of m×m tiles (+r − 1);
 * 2. `im2col` cuts each plane into overlapping n×n patches (stride m), one column per tile, the
 *    planes taken as images so that patch value (p, q) of every channel and tile lies in row p·n + q;
 * 3. the input transform `Bᵀ·d·B` of every column (`winogradIn${m}x${r}` of `_winograd_kernel.ts`, four
 *    columns per step), giving for each of the n² points ξ a `[channels, tiles]` matrix V_ξ;
 * 4. one `gemm` transforms the filters, `G·g·Gᵀ` (n² × r², the Kronecker square of G), into
 *    `[filters, channels]` matrices U_ξ;
 * 5. the n² products M_ξ = U_ξ·V_ξ `[filters, tiles]`, one batched `gemm` (`gemmPacked` once the
 *    filters are kept);
 * 6. the output transform `Aᵀ·M·A` (`winogradOut${m}x${r}`) and `col2im` put each tile's m×m outputs in
 *    place; the planes are cropped into `y`.
 *
 * (Steps 3 and 6 fall back to a `gemm` by the Kronecker square when the columns are not a multiple
 * of four.) The transformed filters of a weight tensor seen a second time are kept (a weight's
 * storage never changes), packed for `gemmPacked`, for the 16 most recent weights: inference then
 * skips step 4 and the packing of U.
 *
 * It pays for many channels and filters (AlexNet's conv2–5), where the products dominate; the
 * caller keeps im2col and one `gemm` for the rest.
 * @module
 */
import { gemm, gemmPacked, type PackedGemmA, packGemmA } from "./gemm.ts";
import { col2im, type ConvolveOptions, gemmWorkspace, im2col } from "./im2col.ts";
import { kernelHolding } from "./_gemm_wasm.ts";
import { allocate, release } from "./memory.ts";
import { settings } from "./_settings.ts";
import { addChannelBias } from "./simd.ts";
import { toomCook } from "./_toom_cook.ts";
import { transformName, WINOGRAD_SHAPES, type WinogradExports } from "./_winograd_kernel.ts";

/**
 * A Winograd transform F(m×m, r×r): the Kronecker squares of Bᵀ (input, n² × n²), G (filter,
 * n² × r²) and Aᵀ (output, m² × n²), n = m + r − 1.
 */
interface Transform {
  readonly m: number;
  readonly r: number;
  readonly n: number;
  readonly input: Float32Array;
  readonly filter: Float32Array;
  readonly output: Float32Array;
}

/** The Kronecker product L ⊗ L as a row-major `[rows², cols²]` matrix: (i, j), (p, q) → L[i][p]·L[j][q]. */
function kron(l: number[][]): Float32Array {
  const rows = l.length, cols = l[0].length;
  const out = new Float32Array(rows * rows * cols * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      for (let p = 0; p < cols; p++) {
        for (let q = 0; q < cols; q++) out[(i * rows + j) * cols * cols + p * cols + q] = l[i][p] * l[j][q];
      }
    }
  }
  return out;
}

const transforms = new Map<string, Transform>();

/** The transform F(m×m, r×r), built on first use. */
function transformFor(m: number, r: number): Transform {
  let t = transforms.get(`${m}x${r}`);
  if (!t) {
    const { at, g, bt } = toomCook(m, r);
    t = { m, r, n: m + r - 1, input: kron(bt), filter: kron(g), output: kron(at) };
    transforms.set(`${m}x${r}`, t);
  }
  return t;
}

/**
 * Outputs per tile side for an `oh × ow` output of an r × r kernel: the m of `WINOGRAD_SHAPES` with
 * the fewest multiplications (n² per tile times the tiles, whole tiles covering the output).
 */
function cheapestTile(r: number, oh: number, ow: number): number {
  let best = 0, bestCost = Infinity;
  for (const [m, rr] of WINOGRAD_SHAPES) {
    if (rr !== r) continue;
    const n = m + r - 1, cost = n * n * Math.ceil(oh / m) * Math.ceil(ow / m);
    if (cost < bestCost) [best, bestCost] = [m, cost];
  }
  return best;
}

/** Transformed filters, as kept for a weight: packed for `gemmPacked`, or as they are where packing is not available. */
interface KeptFilters {
  readonly key: string;
  u?: Float32Array;
  packed?: PackedGemmA;
}

/** Transformed filters by weight storage: the transform and filter range they cover, and what is kept. */
const transformedFilters = new Map<Float32Array, KeptFilters>();
/** Weights whose transformed filters are kept. */
const KEPT_WEIGHTS = 16;

/** Gives back what an entry keeps. */
function drop(entry: KeptFilters): void {
  if (entry.u) release(entry.u);
  entry.packed?.dispose();
  entry.u = entry.packed = undefined;
}

/**
 * U_ξ = (G·g·Gᵀ)_ξ for filters `[filter0, filter0 + filters)` of `w`, n² matrices
 * `[filters, channels]`: written into `scratch` on the first call for this weight storage and
 * range; from the second on kept, packed for `gemmPacked` where the kernels allow.
 */
function filterTransform(
  t: Transform,
  w: Float32Array,
  filter0: number,
  filters: number,
  channels: number,
  scratch: Float32Array,
): KeptFilters {
  const key = `${t.m},${t.r},${filter0},${filters},${channels}`;
  const seen = transformedFilters.get(w);
  if (seen?.key === key && (seen.u || seen.packed)) return seen;
  const points = t.n * t.n;
  if (seen?.key === key) {
    const u = allocate(points * filters * channels);
    transformFilters(t, w, filter0, filters, channels, u);
    seen.packed = packGemmA(filters, channels, u, { batch: points });
    if (seen.packed) release(u);
    else seen.u = u;
    return seen;
  }
  if (seen) drop(seen);
  transformedFilters.delete(w);
  transformedFilters.set(w, { key });
  if (transformedFilters.size > KEPT_WEIGHTS) {
    const [oldest, entry] = transformedFilters.entries().next().value!;
    drop(entry);
    transformedFilters.delete(oldest);
  }
  transformFilters(t, w, filter0, filters, channels, scratch);
  return { key, u: scratch };
}

/** Writes U_ξ for filters `[filter0, filter0 + filters)` of `w` into `u` `[n², filters·channels]`. */
function transformFilters(
  t: Transform,
  w: Float32Array,
  filter0: number,
  filters: number,
  channels: number,
  u: Float32Array,
): void {
  gemm(t.n * t.n, filters * channels, t.r * t.r, t.filter, w, u, {
    transposeB: true,
    offsetB: filter0 * channels * t.r * t.r,
  });
}

/**
 * Fewest channels and filters for which `convolveWinograd` runs, by kernel size. Measured against
 * im2col + `gemm` with as many filters as channels, one image, two threads, medians of 25
 * interleaved calls (after the filters were kept): 3×3 on 13×13 planes 0.97× as fast at 32 channels,
 * 1.13× at 64, 1.43× at 128, 1.82× at 256 (28×28: 1.10, 1.69, 1.93, 2.44×); 5×5 on 13×13 0.85× at
 * 16, 1.56× at 32, 2.21× at 64 (28×28: 1.25, 1.73, 2.59×).
 */
const MIN_CHANNELS: ReadonlyMap<number, number> = new Map([[3, 64], [5, 32]]);
/** Most images per call: each image runs products of its own. */
const WINOGRAD_MAX_IMAGES = 4;

/**
 * Convolves like `convolve` (same options and result), by F(m×m, r×r), where that pays: a 3×3 or
 * 5×5 kernel with stride and dilation 1, enough channels and filters (64 for 3×3, 32 for 5×5), at
 * most 4 images, the `"wasm"` kernels, and `x` and `y` in the kernels' memory (storage from
 * `allocate`). Otherwise it does nothing and returns false.
 *
 * @param x The NCHW input's values.
 * @param w Filters `[·, channels, r, r]`.
 * @param options The geometry, the filters and the output.
 * @param tileOutputs m, the outputs per tile side (2, 3 or 4); by default the one with the fewest
 *   multiplications for the output's size.
 * @returns Whether it ran.
 * @throws {RangeError} If `tileOutputs` is given and has no transform kernels for this kernel size.
 * @example Too few channels: left to the other paths
 * ```ts
 * import { convolveWinograd } from "@cnnlab/backend-cpu/winograd";
 * import assert from "node:assert/strict";
 * const y = new Float32Array(4);
 * const options = { images: 1, channels: 1, height: 4, width: 4, kernel: [3, 3] as const, filters: 1, y };
 * assert.equal(convolveWinograd(new Float32Array(16), new Float32Array(9), options), false);
 * ```
 */
export function convolveWinograd(
  x: Float32Array,
  w: Float32Array,
  options: ConvolveOptions,
  tileOutputs?: number,
): boolean {
  const { images, channels, height, width, y, filters } = options;
  const [kh, kw] = options.kernel, [sh, sw] = options.stride ?? [1, 1], [dh, dw] = options.dilation ?? [1, 1];
  const [ph, pw] = options.padding ?? [0, 0];
  const image0 = options.image0 ?? 0,
    channel0 = options.channel0 ?? 0,
    xChannels = options.xChannels ?? channels;
  const filter0 = options.filter0 ?? 0, yChannels = options.yChannels ?? filters;
  const r = kh, oh = height + 2 * ph - r + 1, ow = width + 2 * pw - r + 1;
  const least = MIN_CHANNELS.get(r);
  if (
    settings.kernels !== "wasm" || least === undefined || kw !== r || sh !== 1 || sw !== 1 || dh !== 1 ||
    dw !== 1 || channels < least || filters < least || images > WINOGRAD_MAX_IMAGES ||
    oh < 1 || ow < 1 || x.length < (image0 + images) * xChannels * height * width ||
    w.length < (filter0 + filters) * channels * r * r || y.length < (image0 + images) * yChannels * oh * ow ||
    (options.bias !== undefined && options.bias.length < filter0 + filters)
  ) return false;
  if (tileOutputs !== undefined && !WINOGRAD_SHAPES.some(([m, rr]) => m === tileOutputs && rr === r)) {
    throw new RangeError(
      `Cannot convolve by Winograd F(${tileOutputs}×${tileOutputs}, ${r}×${r}): there are transforms for ${
        WINOGRAD_SHAPES.filter(([, rr]) => rr === r).map(([m]) => m).join(", ")
      } outputs per tile side; leave tileOutputs out to choose`,
    );
  }
  const t = transformFor(tileOutputs ?? cheapestTile(r, oh, ow), r), { m, n } = t, points = n * n;
  const tY = Math.ceil(oh / m), tX = Math.ceil(ow / m), tiles = tY * tX;
  const hp = m * tY + r - 1, wp = m * tX + r - 1;
  const [padded, cols, v, scratchU, products, z, out] = gemmWorkspace([
    channels * hp * wp,
    points * channels * tiles,
    points * channels * tiles,
    points * filters * channels,
    points * filters * tiles,
    m * m * filters * tiles,
    filters * m * m * tiles,
  ]);
  const kernel = kernelHolding([x, y, padded, out]);
  if (!kernel) return false;
  const wino = kernel as unknown as WinogradExports;
  // U_ξ = (G·g·Gᵀ)_ξ for every filter and channel: [n², filters·channels].
  const u = filterTransform(t, w, filter0, filters, channels, scratchU);
  for (let b = image0; b < image0 + images; b++) {
    padded.fill(0);
    for (let c = 0; c < channels; c++) {
      const src = ((b * xChannels + channel0 + c) * height * width) * 4;
      const dst = padded.byteOffset + ((c * hp + ph) * wp + pw) * 4;
      kernel.copy(dst, x.byteOffset + src, height, width, wp * 4, width * 4);
    }
    im2col(padded, cols, {
      images: channels,
      channels: 1,
      height: hp,
      width: wp,
      kernel: [n, n],
      stride: [m, m],
    });
    const columns = channels * tiles;
    if (columns % 4 === 0) {
      wino[transformName("In", m, r)](cols.byteOffset, v.byteOffset, columns / 4, columns * 4, columns * 4);
    } else gemm(points, columns, points, t.input, cols, v);
    if (!u.packed || !gemmPacked(u.packed, tiles, v, products)) {
      let plain = u.u;
      if (!plain) {
        // Packed for kernels no longer selected (or no room to run): transform into the scratch
        // matrices now, and again into a packing on the next call.
        drop(u);
        transformFilters(t, w, filter0, filters, channels, scratchU);
        plain = scratchU;
      }
      gemm(filters, tiles, channels, plain, v, products, { batch: points });
    }
    const outputs = filters * tiles;
    if (outputs % 4 === 0) {
      wino[transformName("Out", m, r)](
        products.byteOffset,
        z.byteOffset,
        outputs / 4,
        outputs * 4,
        outputs * 4,
      );
    } else gemm(m * m, outputs, points, t.output, products, z);
    col2im(z, out, {
      images: filters,
      channels: 1,
      height: m * tY,
      width: m * tX,
      kernel: [m, m],
      stride: [m, m],
    });
    for (let f = 0; f < filters; f++) {
      const dst = y.byteOffset + ((b * yChannels + filter0 + f) * oh * ow) * 4;
      kernel.copy(dst, out.byteOffset + f * m * m * tiles * 4, oh, ow, ow * 4, m * tX * 4);
    }
    if (options.bias) {
      addChannelBias(y, options.bias, { image0: b, images: 1, yChannels, filter0, filters, plane: oh * ow });
    }
  }
  return true;
}
