/**
 * How the CPU conv kernels cut a batch into chunks for im2col / col2im (which live in
 * `@cnnlab/backend-cpu/im2col`, next to the GEMM whose memory they work in), and the batch-major
 * reorders they build on. Private.
 *
 * Layout: for one group and a chunk of `nb` images, `cols` is `[K, N]` with `K = cg·kh·kw` rows
 * ordered like a filter row (channel, then kernel row, then kernel column) and `N = nb·oh·ow` columns
 * ordered (image, output row, output column). Then a group's output is one GEMM
 * `W_g [og, K] · cols [K, N]`, its filter gradient `dY_g [og, N] · colsᵀ`, and its input gradient
 * `col2im(W_gᵀ · dY_g)`. The kernels keep `cols` and the channel-major copies in `gemmWorkspace`
 * arrays, so that neither im2col nor the GEMM copies them in or out of the WebAssembly memory.
 * @module
 */
import type { Im2colGeometry } from "@cnnlab/backend-cpu/im2col";
import type { ConvGeometry } from "./_geometry.ts";

/** Largest `cols` buffer (in floats) that a kernel batches images into: 4 Mi floats = 16 MiB. */
let maxCols = 1 << 22;

/** Sets the `cols` budget (tests use it to force chunking); returns the previous one. */
export function setMaxCols(floats: number): number {
  const before = maxCols;
  maxCols = floats;
  return before;
}

/**
 * How many images one `cols` buffer holds: the whole batch when it fits in the budget, else fewer
 * (at least one).
 */
export function imagesPerChunk(g: ConvGeometry): number {
  const perImage = g.cg * g.kh * g.kw * g.oh * g.ow;
  return Math.max(1, Math.min(g.n, Math.floor(maxCols / perImage)));
}

/** Whether `cols` would equal the input itself: a 1×1 kernel with stride 1 and no padding. */
export function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/**
 * The `im2col` / `col2im` geometry (from `@cnnlab/backend-cpu/im2col`) of group `group` of images
 * `[b0, b0 + nb)`.
 */
export function colsGeometry(g: ConvGeometry, group: number, b0: number, nb: number): Im2colGeometry {
  return {
    images: nb,
    channels: g.cg,
    height: g.h,
    width: g.w,
    kernel: [g.kh, g.kw],
    stride: [g.sh, g.sw],
    padding: [g.ph, g.pw],
    dilation: [g.dh, g.dw],
    image0: b0,
    channel0: group * g.cg,
    xChannels: g.cIn,
  };
}

/**
 * Gathers output channels `[o0, o0 + count)` of images `[b0, b0 + nb)` of an NCHW tensor into
 * channel-major `[count, nb·plane]`.
 */
export function toChannelMajor(
  src: Float32Array,
  channels: number,
  plane: number,
  o0: number,
  count: number,
  b0: number,
  nb: number,
  dst: Float32Array,
): void {
  const n = nb * plane;
  for (let o = 0; o < count; o++) {
    for (let b = 0; b < nb; b++) {
      const s = ((b0 + b) * channels + o0 + o) * plane;
      dst.set(src.subarray(s, s + plane), o * n + b * plane);
    }
  }
}

/** Scatters channel-major `[count, nb·plane]` into channels `[o0, o0 + count)` of images `[b0, b0 + nb)` of an NCHW tensor. */
export function fromChannelMajor(
  src: Float32Array,
  channels: number,
  plane: number,
  o0: number,
  count: number,
  b0: number,
  nb: number,
  dst: Float32Array,
): void {
  const n = nb * plane;
  for (let o = 0; o < count; o++) {
    for (let b = 0; b < nb; b++) {
      const s = o * n + b * plane;
      dst.set(src.subarray(s, s + plane), ((b0 + b) * channels + o0 + o) * plane);
    }
  }
}
