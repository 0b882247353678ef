/**
 * CPU kernels for `sum` and `max`: the input is walked in contiguous runs; a run either folds
 * into one output (reduced innermost axis) or accumulates into a row of outputs (kept innermost axis).
 * @module
 */
import { defineKernel, type Kernel, type Shape, sizeOf, stridesOf } from "@cnnlab/core";
import { forEachRun, plan } from "./_strided.ts";
import { allocateZeros } from "../memory.ts";
import { channelSumsSimd } from "../simd.ts";

interface ReduceAttrs {
  readonly axes?: readonly number[];
}

function reduceKernel(op: "sum" | "max"): Kernel<Float32Array, ReduceAttrs> {
  return defineKernel<Float32Array, ReduceAttrs>({
    op,
    backend: "cpu",
    run([x], attrs, outShape) {
      const shape: Shape = x.shape;
      const axes = new Set((attrs.axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a)));
      const keep = shape.map((d, i) => (axes.has(i) ? 1 : d));
      const keepStrides = stridesOf(keep).map((s, i) => (axes.has(i) ? 0 : s));
      const y = allocateZeros(sizeOf(outShape));
      if (
        op === "sum" && shape.length >= 2 &&
        [...axes].sort().join() === shape.map((_, i) => i).filter((i) => i !== 1).join()
      ) {
        // A bias gradient: per-channel sums of [n, c, …].
        if (channelSumsSimd(x.storage, y, shape[1], sizeOf(shape.slice(2)))) return y;
      }
      const isMax = op === "max";
      if (isMax) y.fill(-Infinity);
      const src = x.storage;
      const p = plan(shape, [stridesOf(shape), keepStrides]);
      const last = p.dims.length - 1;
      const ys = p.strides[1][last];
      forEachRun(p, (o, n) => {
        const xo = o[0], yo = o[1];
        if (ys === 0) {
          if (isMax) {
            let m = y[yo];
            for (let i = 0; i < n; i++) if (src[xo + i] > m) m = src[xo + i];
            y[yo] = m;
          } else {
            // Four running sums: one chain of dependent adds would wait on each add's latency.
            let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
            for (; i + 3 < n; i += 4) {
              s0 += src[xo + i];
              s1 += src[xo + i + 1];
              s2 += src[xo + i + 2];
              s3 += src[xo + i + 3];
            }
            for (; i < n; i++) s0 += src[xo + i];
            y[yo] += (s0 + s1) + (s2 + s3);
          }
        } else if (isMax) {
          for (let i = 0; i < n; i++) if (src[xo + i] > y[yo + i]) y[yo + i] = src[xo + i];
        } else {
          for (let i = 0; i < n; i++) y[yo + i] += src[xo + i];
        }
      });
      return y;
    },
  });
}

/** Reduction kernels for the CPU backend. */
export const reduceKernels: readonly Kernel<Float32Array, ReduceAttrs>[] = [
  reduceKernel("sum"),
  reduceKernel("max"),
];
