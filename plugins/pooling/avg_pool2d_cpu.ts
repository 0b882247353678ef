/**
 * CPU kernels for average pooling over the valid positions of each window (padding is not
 * counted), forward and backward. 2×2/2 windows without padding take unrolled loops.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import type { AvgPool2dBackwardAttrs } from "./avg_pool2d.ts";
import type { Pool2dAttrs } from "./pool_options.ts";
import { windowsOf } from "./_windows.ts";
import { allocate, allocateZeros } from "@cnnlab/backend-cpu/memory";

/** CPU kernel of `avgPool2d`. */
export const avgPool2dCpu: Kernel<Float32Array, Pool2dAttrs> = defineKernel<Float32Array, Pool2dAttrs>({
  op: "avgPool2d",
  backend: "cpu",
  run([input], attrs, outShape) {
    const g = windowsOf(input.shape, attrs, outShape);
    const { planes, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd } = g;
    const x = input.storage, hw = h * w;
    const y = allocate(planes * oh * ow);
    let o = 0;
    if (g.is2x2) {
      for (let p = 0; p < planes; p++) {
        for (let i = 0; i < oh; i++) {
          const r0 = p * hw + 2 * i * w, r1 = r0 + w;
          for (let j = 0; j < ow; j++) {
            y[o++] = 0.25 * (x[r0 + 2 * j] + x[r0 + 2 * j + 1] + x[r1 + 2 * j] + x[r1 + 2 * j + 1]);
          }
        }
      }
      return y;
    }
    for (let p = 0; p < planes; p++) {
      const base = p * hw;
      for (let i = 0; i < oh; i++) {
        const r0 = rowStart[i], r1 = rowEnd[i];
        for (let j = 0; j < ow; j++) {
          const c0 = colStart[j], c1 = colEnd[j];
          let s = 0;
          for (let r = r0; r < r1; r++) {
            const row = base + r * w;
            for (let c = c0; c < c1; c++) s += x[row + c];
          }
          y[o++] = s / ((r1 - r0) * (c1 - c0));
        }
      }
    }
    return y;
  },
});

/** CPU kernel of `avgPool2dBackward`: each window spreads `dy / count` over its valid positions. */
export const avgPool2dBackwardCpu: Kernel<Float32Array, AvgPool2dBackwardAttrs> = defineKernel<
  Float32Array,
  AvgPool2dBackwardAttrs
>({
  op: "avgPool2dBackward",
  backend: "cpu",
  run([grad], attrs, inShape) {
    const g = windowsOf(inShape, attrs, grad.shape);
    const { planes, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd } = g;
    const dy = grad.storage, hw = h * w;
    const dx = allocateZeros(planes * hw);
    let o = 0;
    if (g.is2x2) {
      for (let p = 0; p < planes; p++) {
        for (let i = 0; i < oh; i++) {
          const r0 = p * hw + 2 * i * w, r1 = r0 + w;
          for (let j = 0; j < ow; j++) {
            const d = 0.25 * dy[o++];
            dx[r0 + 2 * j] = d;
            dx[r0 + 2 * j + 1] = d;
            dx[r1 + 2 * j] = d;
            dx[r1 + 2 * j + 1] = d;
          }
        }
      }
      return dx;
    }
    for (let p = 0; p < planes; p++) {
      const base = p * hw;
      for (let i = 0; i < oh; i++) {
        const r0 = rowStart[i], r1 = rowEnd[i];
        for (let j = 0; j < ow; j++) {
          const c0 = colStart[j], c1 = colEnd[j];
          const d = dy[o++] / ((r1 - r0) * (c1 - c0));
          for (let r = r0; r < r1; r++) {
            const row = base + r * w;
            for (let c = c0; c < c1; c++) dx[row + c] += d;
          }
        }
      }
    }
    return dx;
  },
});
