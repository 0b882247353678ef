/**
 * CPU kernels for `reshape`, `transpose`, `broadcastTo` and `matmul`.
 * @module
 */
import { defineKernel, type Kernel, sizeOf, stridesOf } from "@cnnlab/core";
import { gemm } from "../gemm.ts";
import { retain } from "../memory.ts";
import { broadcastStrides, forEachRun, plan } from "./_strided.ts";
import { allocate } from "../memory.ts";

const reshape = defineKernel<Float32Array, unknown>({
  op: "reshape",
  backend: "cpu",
  // Tensors are immutable, so the output shares the input's storage, as its second owner.
  run: ([x]) => retain(x.storage),
});

const transpose = defineKernel<Float32Array, { perm: readonly number[] }>({
  op: "transpose",
  backend: "cpu",
  run([x], { perm }, outShape) {
    const inStrides = stridesOf(x.shape);
    const y = allocate(sizeOf(outShape));
    const src = x.storage;
    const p = plan(outShape, [stridesOf(outShape), perm.map((a) => inStrides[a])]);
    const xs = p.strides[1][p.dims.length - 1];
    forEachRun(p, (o, n) => {
      const yo = o[0], xo = o[1];
      for (let i = 0; i < n; i++) y[yo + i] = src[xo + i * xs];
    });
    return y;
  },
});

const broadcastTo = defineKernel<Float32Array, unknown>({
  op: "broadcastTo",
  backend: "cpu",
  run([x], _a, outShape) {
    const y = allocate(sizeOf(outShape));
    const src = x.storage;
    const p = plan(outShape, [stridesOf(outShape), broadcastStrides(x.shape, outShape)]);
    const xs = p.strides[1][p.dims.length - 1];
    forEachRun(p, (o, n) => {
      const yo = o[0], xo = o[1];
      if (xs === 0) y.fill(src[xo], yo, yo + n);
      else for (let i = 0; i < n; i++) y[yo + i] = src[xo + i];
    });
    return y;
  },
});

const matmul = defineKernel<Float32Array, { transposeA?: boolean; transposeB?: boolean }>({
  op: "matmul",
  backend: "cpu",
  run([a, b], { transposeA, transposeB }, [m, n]) {
    const k = transposeA ? a.shape[0] : a.shape[1];
    const c = allocate(m * n);
    gemm(m, n, k, a.storage, b.storage, c, { transposeA, transposeB });
    return c;
  },
});

/** Layout and matmul kernels for the CPU backend. */
export const layoutKernels: readonly Kernel<Float32Array, never>[] = [
  reshape,
  transpose,
  broadcastTo,
  matmul,
] as Kernel<Float32Array, never>[];
