/**
 * 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, 2016): each
 * 2×2 block of outputs costs 16 multiplications per input channel instead of 36. Every step is a
 * call of this package's WebAssembly kernels on views of their memory:
 *
 * 1. the image is copied into zero-padded planes whose size is a whole number of 2×2 tiles (+2);
 * 2. `im2col` cuts each plane into overlapping 4×4 patches (stride 2), one column per tile, the
 *    planes taken as images so that patch value (p, q) of every channel and tile lies in row p·4 + q;
 * 3. one `gemm` applies the input transform `Bᵀ·d·B` to all patches at once (a 16 × 16 matrix, the
 *    Kronecker product of Bᵀ with itself), giving for each of the 16 points ξ a `[channels, tiles]`
 *    matrix V_ξ;
 * 4. one `gemm` transforms the filters, `G·g·Gᵀ` (16 × 9), into `[filters, channels]` matrices U_ξ;
 * 5. 16 `gemm`s M_ξ = U_ξ·V_ξ `[filters, tiles]`;
 * 6. one `gemm` applies the output transform `Aᵀ·M·A` (4 × 16) and `col2im` puts each tile's 2×2
 *    outputs in place; the planes are cropped into `y`.
 *
 * The transformed filters of a weight tensor seen a second time are kept (a weight's storage never
 * changes), for the 16 most recent weights: inference then skips step 4.
 *
 * It pays only for many channels and filters (AlexNet's conv3–5: 256–384 of each on 13×13), where
 * the products dominate, and then by about a tenth; the caller keeps im2col and one `gemm` for the
 * rest.
 * @module
 */
import { gemm } from "./gemm.ts";
import { col2im, type ConvolveOptions, gemmWorkspace, im2col } from "./im2col.ts";
import { kernelHolding } from "./_gemm_wasm.ts";
import { allocate, release } from "./memory.ts";
import { settings } from "./_settings.ts";

/** Bᵀ, G and Aᵀ of F(2×2, 3×3). */
const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];

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

const INPUT_TRANSFORM = kron(BT), FILTER_TRANSFORM = kron(G), OUTPUT_TRANSFORM = kron(AT);

/** Transformed filters by weight storage: the filter range they cover, and the block once kept. */
const transformed = new Map<Float32Array, { readonly key: string; u?: Float32Array }>();
/** Weights whose transformed filters are kept. */
const KEPT_WEIGHTS = 16;

/**
 * U_ξ for filters `[filter0, filter0 + filters)` of `w`: written into `scratch` on the first call
 * for this weight storage and range, kept in a block of their own from the second on.
 */
function filterTransform(
  w: Float32Array,
  filter0: number,
  filters: number,
  channels: number,
  scratch: Float32Array,
): Float32Array {
  const key = `${filter0},${filters},${channels}`;
  const seen = transformed.get(w);
  if (seen?.key === key && seen.u) return seen.u;
  let u = scratch;
  if (seen?.key === key) {
    u = allocate(16 * filters * channels);
    seen.u = u;
  } else {
    if (seen?.u) release(seen.u);
    transformed.delete(w);
    transformed.set(w, { key });
    if (transformed.size > KEPT_WEIGHTS) {
      const [oldest, entry] = transformed.entries().next().value!;
      if (entry.u) release(entry.u);
      transformed.delete(oldest);
    }
  }
  gemm(16, filters * channels, 9, FILTER_TRANSFORM, w, u, {
    transposeB: true,
    offsetB: filter0 * channels * 9,
  });
  return u;
}

/**
 * Fewest channels and filters for which `convolveWinograd` runs. Measured on 13×13 planes, two
 * threads, median of 40 calls each interleaved with im2col + `gemm`: 384→384 channels 8.99 ms
 * against 10.08, 384→256 4.79 against 5.32, 256→384 7.21 against 6.73 (a tie within noise); its 16
 * products of `[filters, channels]` by `[channels, 49 tiles]` run at about half the GEMM's peak.
 */
const WINOGRAD_MIN_CHANNELS = 256;
/** Most images per call: each image runs 16 products of its own. */
const WINOGRAD_MAX_IMAGES = 4;

/**
 * Convolves like `convolve` (same options and result), by F(2×2, 3×3), where that pays: a 3×3
 * kernel with stride and dilation 1, at least 256 channels and 256 filters, at most 4 images, the
 * `"wasm"` kernels, and `x` and `y` in the kernels' memory (storage from `allocate`). Otherwise it
 * does nothing and returns false.
 *
 * @param x The NCHW input's values.
 * @param w Filters `[·, channels, 3, 3]`.
 * @param options The geometry, the filters and the output.
 * @returns Whether it ran.
 * @example Too few channels: left to the other paths
 * ```ts
 * import { convolveWinograd } from "@cnnlab/backend-cpu/winograd";
 * import assert from "node:assert/strict";
 * const y = new Float32Array(4);
 * const options = { images: 1, channels: 1, height: 4, width: 4, kernel: [3, 3] as const, filters: 1, y };
 * assert.equal(convolveWinograd(new Float32Array(16), new Float32Array(9), options), false);
 * ```
 */
export function convolveWinograd(x: Float32Array, w: Float32Array, options: ConvolveOptions): boolean {
  const { images, channels, height, width, y, filters } = options;
  const [kh, kw] = options.kernel, [sh, sw] = options.stride ?? [1, 1], [dh, dw] = options.dilation ?? [1, 1];
  const [ph, pw] = options.padding ?? [0, 0];
  const image0 = options.image0 ?? 0,
    channel0 = options.channel0 ?? 0,
    xChannels = options.xChannels ?? channels;
  const filter0 = options.filter0 ?? 0, yChannels = options.yChannels ?? filters;
  const oh = height + 2 * ph - 2, ow = width + 2 * pw - 2;
  if (
    settings.kernels !== "wasm" || kh !== 3 || kw !== 3 || sh !== 1 || sw !== 1 || dh !== 1 || dw !== 1 ||
    channels < WINOGRAD_MIN_CHANNELS || filters < WINOGRAD_MIN_CHANNELS || images > WINOGRAD_MAX_IMAGES ||
    oh < 1 || ow < 1 || x.length < (image0 + images) * xChannels * height * width ||
    w.length < (filter0 + filters) * channels * 9 || y.length < (image0 + images) * yChannels * oh * ow
  ) return false;
  const tY = Math.ceil(oh / 2), tX = Math.ceil(ow / 2), tiles = tY * tX;
  const hp = 2 * tY + 2, wp = 2 * tX + 2;
  const [padded, cols, v, scratchU, m, z, out] = gemmWorkspace([
    channels * hp * wp,
    16 * channels * tiles,
    16 * channels * tiles,
    16 * filters * channels,
    16 * filters * tiles,
    4 * filters * tiles,
    filters * 4 * tiles,
  ]);
  const kernel = kernelHolding([x, y, padded, out]);
  if (!kernel) return false;
  // U_ξ = (G·g·Gᵀ)_ξ for every filter and channel: [16, filters·channels].
  const u = filterTransform(w, filter0, filters, channels, scratchU);
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
      kernel: [4, 4],
      stride: [2, 2],
    });
    gemm(16, channels * tiles, 16, INPUT_TRANSFORM, cols, v);
    for (let xi = 0; xi < 16; xi++) {
      gemm(filters, tiles, channels, u, v, m, {
        offsetA: xi * filters * channels,
        offsetB: xi * channels * tiles,
        offsetC: xi * filters * tiles,
      });
    }
    gemm(4, filters * tiles, 16, OUTPUT_TRANSFORM, m, z);
    col2im(z, out, {
      images: filters,
      channels: 1,
      height: 2 * tY,
      width: 2 * tX,
      kernel: [2, 2],
      stride: [2, 2],
    });
    for (let f = 0; f < filters; f++) {
      const dst = y.byteOffset + ((b * yChannels + filter0 + f) * oh * ow) * 4;
      kernel.copy(dst, out.byteOffset + f * 4 * tiles * 4, oh, ow, ow * 4, 2 * tX * 4);
    }
  }
  return true;
}
