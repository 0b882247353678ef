/**
 * CPU kernel of `conv2d`: im2col over a chunk of images (the whole batch when its columns fit in
 * 16 MiB), one `gemm` per group, then a reorder to NCHW; the columns and the GEMM's output live in
 * `gemmWorkspace` arrays (the WebAssembly memory itself with the `"wasm"` kernels). Where
 * `convolve` of `@cnnlab/backend-cpu/im2col` pays (a few dozen filters, a depth of 64 or more) it
 * runs instead: the same product without building the columns; Winograd's before both where it
 * pays. A 1×1 kernel with stride 1 and no padding skips im2col: the input already is the column
 * matrix. The `conv2dBias` kernel is the same with the bias added, and its ReLU when asked (see
 * `convolveCpu`).
 * @module
 */
import { defineKernel, type Kernel, type KernelInput } from "@cnnlab/core";
import { gemm } from "@cnnlab/backend-cpu/gemm";
import { convolve, gemmWorkspace, im2col } from "@cnnlab/backend-cpu/im2col";
import { convolveWinograd } from "@cnnlab/backend-cpu/winograd";
import { type Conv2dAttrs, type Conv2dBiasAttrs, convGeometry } from "./_geometry.ts";
import { colsGeometry, fromChannelMajor, imagesPerChunk, isPointwise } from "./_im2col.ts";
import { allocate, allocateZeros } from "@cnnlab/backend-cpu/memory";
import { addChannelBias, reluChannels } from "@cnnlab/backend-cpu/simd";

/** conv2d of `x` by `w`, plus `bias` per filter when given, then ReLU when asked: the output's values. */
function convolveCpu(
  x: KernelInput<Float32Array>,
  w: KernelInput<Float32Array>,
  attrs: Conv2dAttrs,
  bias?: Float32Array,
  relu = false,
): Float32Array {
  const g = convGeometry("conv2d", x.shape, w.shape, attrs);
  const { n, cIn, cOut, cg, og, groups } = g;
  const plane = g.oh * g.ow, k = cg * g.kh * g.kw;
  const xs = x.storage, ws = w.storage;
  const y = cg === 0 ? allocateZeros(n * cOut * plane) : allocate(n * cOut * plane);
  // The bias and ReLU of the filters and images a path could not apply itself.
  const finish = (image0: number, images: number, filter0: number, filters: number, biased = false) => {
    const block = { image0, images, yChannels: cOut, filter0, filters, plane };
    if (bias && !biased) addChannelBias(y, bias, block);
    if (relu) reluChannels(y, block);
  };
  if (isPointwise(g)) {
    for (let b = 0; b < n; b++) {
      for (let grp = 0; grp < groups; grp++) {
        gemm(og, plane, cg, ws, xs, y, {
          offsetA: grp * og * cg,
          offsetB: (b * cIn + grp * cg) * plane,
          offsetC: (b * cOut + grp * og) * plane,
        });
      }
    }
    finish(0, n, 0, cOut);
    return y;
  }
  const chunk = imagesPerChunk(g);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const nb = Math.min(chunk, n - b0);
    for (let grp = 0; grp < groups; grp++) {
      const geometry = colsGeometry(g, grp, b0, nb);
      const target = { ...geometry, y, filters: og, filter0: grp * og, yChannels: cOut, bias };
      if (convolveWinograd(xs, ws, target)) {
        finish(b0, nb, grp * og, og, true);
        continue;
      }
      if (convolve(xs, ws, { ...target, relu })) continue;
      if (nb === 1) {
        // One image: its channel-major output is its slice of y, which the GEMM writes in place.
        const [cols] = gemmWorkspace([k * plane]);
        im2col(xs, cols, geometry);
        gemm(og, plane, k, ws, cols, y, { offsetA: grp * og * k, offsetC: (b0 * cOut + grp * og) * plane });
      } else {
        // cols and the channel-major output stay in the GEMM's memory: no copy in or out.
        const [cols, out] = gemmWorkspace([k * nb * plane, og * nb * plane]);
        im2col(xs, cols, geometry);
        gemm(og, nb * plane, k, ws, cols, out, { offsetA: grp * og * k });
        fromChannelMajor(out, cOut, plane, grp * og, og, b0, nb, y);
      }
      finish(b0, nb, grp * og, og);
    }
  }
  return y;
}

/**
 * The `conv2d` kernel for the `"cpu"` backend.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dCpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dCpu));
 * assert.equal(conv2dCpu.op, "conv2d");
 * ```
 */
export const conv2dCpu: Kernel<Float32Array, Conv2dAttrs> = defineKernel<Float32Array, Conv2dAttrs>({
  op: "conv2d",
  backend: "cpu",
  run: ([x, w], attrs) => convolveCpu(x, w, attrs),
});

/**
 * The `conv2dBias` kernel for the `"cpu"` backend: the row convolution adds the bias and applies
 * the ReLU (attribute `relu`) in its registers; Winograd and the implicit convolution add the bias as
 * they write each image, the GEMM paths after, and these apply the ReLU in place after that.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dBiasCpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dBiasCpu));
 * assert.equal(conv2dBiasCpu.op, "conv2dBias");
 * ```
 */
export const conv2dBiasCpu: Kernel<Float32Array, Conv2dBiasAttrs> = defineKernel<
  Float32Array,
  Conv2dBiasAttrs
>({
  op: "conv2dBias",
  backend: "cpu",
  run: ([x, w, bias], attrs) => convolveCpu(x, w, attrs, bias.storage, attrs.relu === true),
});
