/**
 * CPU kernel of `conv2dBackpropFilter`: im2col over a chunk of images, then per group
 * `dW_g += dY_g · colsᵀ` as one `gemm` of dot products over the chunk's output positions, with the
 * columns and the channel-major `dY_g` in `gemmWorkspace` arrays; or, where it pays (output rows of a
 * multiple of 4 columns, stride 1 along them), `convolveFilterGradient`, the same sums without the
 * columns. A 1×1
 * kernel with stride 1 and no padding uses the input in place of the columns.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { gemm } from "@cnnlab/backend-cpu/gemm";
import { convolveFilterGradient, gemmWorkspace, im2col } from "@cnnlab/backend-cpu/im2col";
import { convGeometry } from "./_geometry.ts";
import { colsGeometry, imagesPerChunk, isPointwise, toChannelMajor } from "./_im2col.ts";
import type { Conv2dBackpropFilterAttrs } from "./conv2d_op.ts";
import { allocateZeros } from "@cnnlab/backend-cpu/memory";

/**
 * The `conv2dBackpropFilter` kernel for the `"cpu"` backend.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dBackpropFilterCpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dBackpropFilterCpu));
 * assert.equal(conv2dBackpropFilterCpu.op, "conv2dBackpropFilter");
 * ```
 */
export const conv2dBackpropFilterCpu: Kernel<Float32Array, Conv2dBackpropFilterAttrs> = defineKernel<
  Float32Array,
  Conv2dBackpropFilterAttrs
>({
  op: "conv2dBackpropFilter",
  backend: "cpu",
  run([x, dy], attrs) {
    const g = convGeometry("conv2dBackpropFilter", x.shape, attrs.filterShape, attrs);
    const { n, cIn, cOut, cg, og, groups } = g;
    const plane = g.oh * g.ow, k = cg * g.kh * g.kw;
    const xs = x.storage, dys = dy.storage;
    const dw = allocateZeros(cOut * k);
    if (isPointwise(g)) {
      for (let b = 0; b < n; b++) {
        for (let grp = 0; grp < groups; grp++) {
          gemm(og, cg, plane, dys, xs, dw, {
            transposeB: true,
            accumulate: true,
            offsetA: (b * cOut + grp * og) * plane,
            offsetB: (b * cIn + grp * cg) * plane,
            offsetC: grp * og * cg,
          });
        }
      }
      return dw;
    }
    const chunk = imagesPerChunk(g);
    for (let b0 = 0; b0 < n; b0 += chunk) {
      const nb = Math.min(chunk, n - b0);
      for (let grp = 0; grp < groups; grp++) {
        const geometry = colsGeometry(g, grp, b0, nb);
        const target = { dy: dys, dw, filters: og, filter0: grp * og, dyChannels: cOut };
        if (convolveFilterGradient(xs, { ...geometry, ...target })) continue;
        const [cols, dyc] = gemmWorkspace([k * nb * plane, og * nb * plane]);
        im2col(xs, cols, geometry);
        toChannelMajor(dys, cOut, plane, grp * og, og, b0, nb, dyc);
        gemm(og, k, nb * plane, dyc, cols, dw, { transposeB: true, accumulate: true, offsetC: grp * og * k });
      }
    }
    return dw;
  },
});
