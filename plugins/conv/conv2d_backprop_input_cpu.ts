/**
 * CPU kernel of `conv2dBackpropInput`: per group and chunk of images, `cols = W_gᵀ · dY_g` as one
 * `gemm`, then col2im adds the columns back onto the input positions they came from (writing each
 * group's channels of `dx` once); the columns and the channel-major `dY_g` live in `gemmWorkspace`
 * arrays. A 1×1 kernel
 * with stride 1 and no padding writes `W_gᵀ · dY_g` straight into `dx`.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { gemm } from "@cnnlab/backend-cpu/gemm";
import { col2im, gemmWorkspace } from "@cnnlab/backend-cpu/im2col";
import { convGeometry } from "./_geometry.ts";
import { colsGeometry, imagesPerChunk, isPointwise, toChannelMajor } from "./_im2col.ts";
import type { Conv2dBackpropInputAttrs } from "./conv2d_op.ts";
import { allocateZeros } from "@cnnlab/backend-cpu/memory";

/**
 * The `conv2dBackpropInput` kernel for the `"cpu"` backend.
 *
 * @example Registered by the plugin
 * ```ts
 * import conv, { conv2dBackpropInputCpu } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.ok(conv.kernels?.includes(conv2dBackpropInputCpu));
 * assert.equal(conv2dBackpropInputCpu.op, "conv2dBackpropInput");
 * ```
 */
export const conv2dBackpropInputCpu: Kernel<Float32Array, Conv2dBackpropInputAttrs> = defineKernel<
  Float32Array,
  Conv2dBackpropInputAttrs
>({
  op: "conv2dBackpropInput",
  backend: "cpu",
  run([dy, w], attrs) {
    const g = convGeometry("conv2dBackpropInput", attrs.inputShape, w.shape, attrs);
    const { n, cIn, cOut, cg, og, groups } = g;
    const plane = g.oh * g.ow, k = cg * g.kh * g.kw;
    const dys = dy.storage, ws = w.storage;
    const dx = allocateZeros(n * cIn * g.h * g.w);
    if (isPointwise(g)) {
      for (let b = 0; b < n; b++) {
        for (let grp = 0; grp < groups; grp++) {
          gemm(cg, plane, og, ws, dys, dx, {
            transposeA: true,
            accumulate: true,
            offsetA: grp * og * cg,
            offsetB: (b * cOut + grp * og) * plane,
            offsetC: (b * cIn + grp * cg) * plane,
          });
        }
      }
      return dx;
    }
    const chunk = imagesPerChunk(g);
    for (let b0 = 0; b0 < n; b0 += chunk) {
      const nb = Math.min(chunk, n - b0);
      for (let grp = 0; grp < groups; grp++) {
        const [cols, dyc] = gemmWorkspace([k * nb * plane, og * nb * plane]);
        toChannelMajor(dys, cOut, plane, grp * og, og, b0, nb, dyc);
        gemm(k, nb * plane, og, ws, dyc, cols, { transposeA: true, offsetA: grp * og * k });
        col2im(cols, dx, colsGeometry(g, grp, b0, nb));
      }
    }
    return dx;
  },
});
