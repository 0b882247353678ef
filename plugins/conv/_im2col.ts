/**
 * im2col / col2im and the batch-major reorders that the CPU conv kernels build on. Private.
 *
 * Layout: for one group and a chunk of `nb` images, `cols` is `[K, N]` with `K = cg·kh·kw` rows
 * ordered like a filter row (channel, then kernel row, then kernel column) and `N = nb·oh·ow` columns
 * ordered (image, output row, output column). Then a group's output is one GEMM
 * `W_g [og, K] · cols [K, N]`, its filter gradient `dY_g [og, N] · colsᵀ`, and its input gradient
 * `col2im(W_gᵀ · dY_g)`. Every loop below walks whole output rows: the valid column range of each
 * kernel tap is computed once, so the inner loops are plain copies (contiguous when the stride is 1)
 * with no bounds test per element.
 * @module
 */
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

const scratchBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

/**
 * A reusable work buffer of at least `size` floats; kernels run synchronously, one at a time, and
 * use slot 0 for `cols` and slot 1 for a channel-major copy. Its contents are garbage.
 */
export function scratch(slot: 0 | 1, size: number): Float32Array {
  if (size > maxCols) return new Float32Array(size);
  if (scratchBuffers[slot].length < size) {
    scratchBuffers[slot] = new Float32Array(
      Math.min(maxCols, Math.max(size, 2 * scratchBuffers[slot].length)),
    );
  }
  return scratchBuffers[slot];
}

/** Output columns `[ox0, ox1)` whose input column `ox·sw + off` lies in `[0, w)`. */
function validColumns(off: number, sw: number, w: number, ow: number): [number, number] {
  const ox0 = off >= 0 ? 0 : Math.min(ow, Math.ceil(-off / sw));
  const ox1 = Math.max(ox0, Math.min(ow, Math.floor((w - 1 - off) / sw) + 1));
  return [ox0, ox1];
}

/**
 * Unfolds group `group` of images `[b0, b0 + nb)` of `x` into `cols` `[K, nb·oh·ow]`.
 *
 * @param x NCHW input values.
 * @param g The geometry.
 * @param group The channel group.
 * @param b0 First image.
 * @param nb Number of images.
 * @param cols Destination; every one of its first `K·nb·oh·ow` values is written.
 */
export function im2col(
  x: Float32Array,
  g: ConvGeometry,
  group: number,
  b0: number,
  nb: number,
  cols: Float32Array,
): void {
  const { cIn, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg } = g;
  const hw = h * w, plane = oh * ow, n = nb * plane;
  let row = 0;
  for (let c = 0; c < cg; c++) {
    for (let p = 0; p < kh; p++) {
      const offY = p * dh - ph;
      for (let q = 0; q < kw; q++, row++) {
        const offX = q * dw - pw;
        const [ox0, ox1] = validColumns(offX, sw, w, ow);
        for (let b = 0; b < nb; b++) {
          const src = ((b0 + b) * cIn + group * cg + c) * hw + offX;
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

/**
 * Folds `cols` `[K, nb·oh·ow]` back onto group `group` of images `[b0, b0 + nb)` of `dx`, adding
 * every column value to the input position it was read from (the adjoint of `im2col`).
 *
 * @param cols Source columns.
 * @param g The geometry.
 * @param group The channel group.
 * @param b0 First image.
 * @param nb Number of images.
 * @param dx NCHW destination, accumulated into.
 */
export function col2im(
  cols: Float32Array,
  g: ConvGeometry,
  group: number,
  b0: number,
  nb: number,
  dx: Float32Array,
): void {
  const { cIn, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, cg } = g;
  const hw = h * w, plane = oh * ow, n = nb * plane;
  let row = 0;
  for (let c = 0; c < cg; c++) {
    for (let p = 0; p < kh; p++) {
      const offY = p * dh - ph;
      for (let q = 0; q < kw; q++, row++) {
        const offX = q * dw - pw;
        const [ox0, ox1] = validColumns(offX, sw, w, ow);
        if (ox0 >= ox1) continue;
        for (let b = 0; b < nb; b++) {
          const dst = ((b0 + b) * cIn + group * cg + c) * hw + offX;
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
