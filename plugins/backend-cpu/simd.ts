/**
 * Elementwise, pooling and reduction kernels in WebAssembly SIMD for tensors whose storage lives in
 * the kernels' memory (see `memory.ts`): each function runs on the calling thread (max pooling, when
 * large, on every thread), in place, and returns true; it returns false, doing nothing, when an array is not such a view (a plain
 * `Float32Array`) or the `"ts"` kernels are chosen, and the caller then runs its TypeScript loop.
 * The kernels are generated in `_simd_kernels.ts`, which states their exact semantics.
 * @module
 */
import type { SimdExports } from "./_simd_kernels.ts";
import { kernelHolding, maxPoolWasm, type PoolGeometry } from "./_gemm_wasm.ts";
import { settings } from "./_settings.ts";

function holding(...arrays: Float32Array[]): SimdExports | undefined {
  return settings.kernels === "wasm" ? kernelHolding(arrays) : undefined;
}

/**
 * `y[i] = max(x[i], 0)` as `Math.max` for the first `y.length` values (NaN stays NaN, −0 gives +0).
 *
 * @param x Input.
 * @param y Output, at most as long as `x`; may be `x`.
 * @returns Whether it ran.
 * @example
 * ```ts
 * import { allocate } from "@cnnlab/backend-cpu/memory";
 * import { reluSimd } from "@cnnlab/backend-cpu/simd";
 * import assert from "node:assert/strict";
 * const x = allocate(5);
 * x.set([-1, 2, -3, 4, 0.5]);
 * if (reluSimd(x, x)) assert.deepEqual([...x], [0, 2, 0, 4, 0.5]);
 * ```
 */
export function reluSimd(x: Float32Array, y: Float32Array): boolean {
  const k = holding(x, y);
  if (!k || x.length < y.length) return false;
  k.relu(x.byteOffset, y.byteOffset, y.length);
  return true;
}

/**
 * `dx[i] = x[i] > 0 ? dy[i] : 0`.
 *
 * @param dy The output's gradient.
 * @param x The input.
 * @param dx The input's gradient (written).
 * @returns Whether it ran.
 */
export function reluGradSimd(dy: Float32Array, x: Float32Array, dx: Float32Array): boolean {
  const k = holding(dy, x, dx);
  if (!k || dy.length < dx.length || x.length < dx.length) return false;
  k.reluGrad(dy.byteOffset, x.byteOffset, dx.byteOffset, dx.length);
  return true;
}

/**
 * `y = a ∘ b` elementwise over `y.length` values, ∘ being `add`, `sub` or `mul`.
 *
 * @param op The operation.
 * @param a Left operand.
 * @param b Right operand.
 * @param y Output (may be `a` or `b`).
 * @returns Whether it ran.
 */
export function binarySimd(
  op: "add" | "sub" | "mul",
  a: Float32Array,
  b: Float32Array,
  y: Float32Array,
): boolean {
  const k = holding(a, b, y);
  if (!k || a.length < y.length || b.length < y.length) return false;
  k[op](a.byteOffset, b.byteOffset, y.byteOffset, y.length);
  return true;
}

/**
 * The NCHW bias add `y[(b·channels + c)·plane + i] = x[…] + bias[c]` (a dense layer's is
 * `plane = 1`).
 *
 * @param x Input `[images, channels, plane]`.
 * @param bias `[channels]`.
 * @param y Output, same size as `x`.
 * @param channels Channels per image.
 * @param plane Values per channel.
 * @returns Whether it ran.
 */
export function biasAddSimd(
  x: Float32Array,
  bias: Float32Array,
  y: Float32Array,
  channels: number,
  plane: number,
): boolean {
  const k = holding(x, bias, y);
  const images = y.length / (channels * plane);
  if (!k || !Number.isInteger(images) || x.length < y.length || bias.length < channels) return false;
  k.biasAdd(x.byteOffset, bias.byteOffset, y.byteOffset, images, channels, plane);
  return true;
}

/** Which planes of `y` `addChannelBias` adds to. */
export interface BiasBlock {
  /** First image and images. */
  readonly image0: number;
  readonly images: number;
  /** Channels per image of `y`. */
  readonly yChannels: number;
  /** First channel and channels: channel `filter0 + f` adds `bias[filter0 + f]`. */
  readonly filter0: number;
  readonly filters: number;
  /** Values per plane. */
  readonly plane: number;
}

/**
 * `y[b, filter0 + f, i] += bias[filter0 + f]` for the images and channels of `block`, in place: by
 * `biasAddSimd` where the arrays are in the kernels' memory, else a loop (the convolutions call it
 * after the paths that do not add their bias themselves).
 *
 * @param y NCHW values `[·, yChannels, plane]`, changed in place.
 * @param bias `[·]` per-channel values.
 * @param block The planes.
 */
export function addChannelBias(y: Float32Array, bias: Float32Array, block: BiasBlock): void {
  const { image0, images, yChannels, filter0, filters, plane } = block;
  const b = bias.subarray(filter0, filter0 + filters);
  for (let image = image0; image < image0 + images; image++) {
    const start = (image * yChannels + filter0) * plane;
    const planes = y.subarray(start, start + filters * plane);
    if (biasAddSimd(planes, b, planes, filters, plane)) continue;
    for (let f = 0; f < filters; f++) {
      const v = b[f];
      for (let i = f * plane; i < (f + 1) * plane; i++) planes[i] += v;
    }
  }
}

/**
 * `y[b, filter0 + f, i] = max(y[…], 0)` (as `reluSimd`: NaN stays NaN, −0 gives +0) for the images and
 * channels of `block`, in place: a convolution's ReLU where it could not apply it as it stored.
 *
 * @param y NCHW values `[·, yChannels, plane]`, changed in place.
 * @param block The planes.
 * @example The second of two channels of one image
 * ```ts
 * import { reluChannels } from "@cnnlab/backend-cpu/simd";
 * import assert from "node:assert/strict";
 * const y = new Float32Array([-1, 2, -3, 4]);
 * reluChannels(y, { image0: 0, images: 1, yChannels: 2, filter0: 1, filters: 1, plane: 2 });
 * assert.deepEqual([...y], [-1, 2, 0, 4]);
 * ```
 */
export function reluChannels(y: Float32Array, block: BiasBlock): void {
  const { image0, images, yChannels, filter0, filters, plane } = block;
  for (let image = image0; image < image0 + images; image++) {
    const start = (image * yChannels + filter0) * plane;
    const planes = y.subarray(start, start + filters * plane);
    if (reluSimd(planes, planes)) continue;
    for (let i = 0; i < planes.length; i++) planes[i] = Math.max(planes[i], 0);
  }
}

export type { PoolGeometry };

/**
 * Max pooling without padding: each output is its window's first maximum in row-major order. From
 * 65,536 window elements on, chunks of planes run on every thread (`setCpuThreads`).
 *
 * @param x Input planes.
 * @param y Output planes.
 * @param g The geometry; every window must lie inside its plane.
 * @returns Whether it ran.
 */
export function maxPoolSimd(x: Float32Array, y: Float32Array, g: PoolGeometry): boolean {
  const { planes, h, w, oh, ow, kh, kw, sh, sw } = g;
  if (
    settings.kernels !== "wasm" || x.length < planes * h * w || y.length < planes * oh * ow ||
    (oh > 0 && (oh - 1) * sh + kh > h) || (ow > 0 && (ow - 1) * sw + kw > w)
  ) return false;
  return maxPoolWasm(settings.threads, x, y, g);
}

/**
 * The gradient of 2×2 stride-2 max pooling without padding: each window's `dy` goes to the
 * position its maximum came from; every other value of `dx` is 0 (`dx` is written whole).
 *
 * @param x The pooling's input.
 * @param dy The output's gradient.
 * @param dx The input's gradient.
 * @param g The geometry (`kh = kw = sh = sw = 2`).
 * @returns Whether it ran.
 */
export function maxPoolGrad2x2Simd(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  g: PoolGeometry,
): boolean {
  const k = holding(x, dy, dx);
  const { planes, h, w, oh, ow } = g;
  if (
    !k || g.kh !== 2 || g.kw !== 2 || g.sh !== 2 || g.sw !== 2 || 2 * oh > h || 2 * ow > w ||
    x.length < planes * h * w || dx.length < planes * h * w || dy.length < planes * oh * ow
  ) return false;
  k.maxPoolGrad2x2(x.byteOffset, dy.byteOffset, dx.byteOffset, planes, h, w, oh, ow);
  return true;
}

/**
 * Per-channel sums of an NCHW tensor, `y[c] = Σ_b Σ_i x[(b·channels + c)·plane + i]` (a bias
 * gradient; `plane = 1` sums the rows of a matrix).
 *
 * @param x Input `[images, channels, plane]`.
 * @param y Output `[channels]` (overwritten).
 * @param channels Channels per image.
 * @param plane Values per channel.
 * @returns Whether it ran.
 */
export function channelSumsSimd(x: Float32Array, y: Float32Array, channels: number, plane: number): boolean {
  const k = holding(x, y);
  const images = x.length / (channels * plane);
  if (!k || !Number.isInteger(images) || y.length < channels) return false;
  if (plane === 1) k.sumRows(x.byteOffset, y.byteOffset, images, channels);
  else k.sumPlanes(x.byteOffset, y.byteOffset, images, channels, plane);
  return true;
}
