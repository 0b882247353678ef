/**
 * CPU kernel of `conv2d`: im2col over a chunk of images (the whole batch when its columns fit in
 * 16 MiB), one `gemm` per group, then a reorder to NCHW; the columns and the GEMM's output live in
 * `gemmWorkspace` arrays (the WebAssembly memory itself with the `"wasm"` kernels). Where
 * `convolve` of `@cnnlab/backend-cpu/im2col` pays (a few dozen filters, a depth of 64 or more) it
 * runs instead: the same product without building the columns. A 1×1 kernel with stride 1 and no padding
 * skips im2col: the input already is the column matrix.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import { gemm } from "@cnnlab/backend-cpu/gemm";
import { convolve, gemmWorkspace, im2col } from "@cnnlab/backend-cpu/im2col";
import { convolveWinograd } from "@cnnlab/backend-cpu/winograd";
import { type Conv2dAttrs, convGeometry } from "./_geometry.ts";
import { colsGeometry, fromChannelMajor, imagesPerChunk, isPointwise } from "./_im2col.ts";
import { allocate, allocateZeros } from "@cnnlab/backend-cpu/memory";

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
  run([x, w], attrs) {
    const g = convGeometry("conv2d", x.shape, w.shape, attrs);
    const { n, cIn, cOut, cg, og, groups } = g;
    const plane = g.oh * g.ow, k = cg * g.kh * g.kw;
    const xs = x.storage, ws = w.storage;
    const y = cg === 0 ? allocateZeros(n * cOut * plane) : allocate(n * cOut * plane);
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
      return y;
    }
    const chunk = imagesPerChunk(g);
    for (let b0 = 0; b0 < n; b0 += chunk) {
      const nb = Math.min(chunk, n - b0);
      for (let grp = 0; grp < groups; grp++) {
        const geometry = colsGeometry(g, grp, b0, nb);
        const target = { ...geometry, y, filters: og, filter0: grp * og, yChannels: cOut };
        if (convolveWinograd(xs, ws, target) || convolve(xs, ws, target)) continue;
        if (nb === 1) {
          // One image: its channel-major output is its slice of y, which the GEMM writes in place.
          const [cols] = gemmWorkspace([k * plane]);
          im2col(xs, cols, geometry);
          gemm(og, plane, k, ws, cols, y, { offsetA: grp * og * k, offsetC: (b0 * cOut + grp * og) * plane });
          continue;
        }
        // cols and the channel-major output stay in the GEMM's memory: no copy in or out.
        const [cols, out] = gemmWorkspace([k * nb * plane, og * nb * plane]);
        im2col(xs, cols, geometry);
        gemm(og, nb * plane, k, ws, cols, out, { offsetA: grp * og * k });
        fromChannelMajor(out, cOut, plane, grp * og, og, b0, nb, y);
      }
    }
    return y;
  },
});
