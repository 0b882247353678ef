/**
 * CPU kernels for the elementwise primitives: broadcasting binary ops in strided runs, unary ops
 * in one pass, each with the arithmetic chosen once per run (never a closure per element).
 * @module
 */
import { defineKernel, type Kernel, type Shape, sizeOf } from "@cnnlab/core";
import { broadcastStrides, forEachRun, plan } from "./_strided.ts";
import { allocate } from "../memory.ts";
import { biasAddSimd, binarySimd } from "../simd.ts";

type Binary = "add" | "sub" | "mul" | "div" | "maximum" | "greaterEqual";

/**
 * `y[yo + i] = a[ao + i·as] op b[bo + i·bs]` for i < n. The common stride pairs (both operands
 * contiguous, or one of them a broadcast scalar) get loops of their own, which V8 compiles to
 * tighter code than the general strided one.
 */
function binaryRun(
  op: Binary,
  y: Float32Array,
  yo: number,
  a: Float32Array,
  ao: number,
  as: number,
  b: Float32Array,
  bo: number,
  bs: number,
  n: number,
): void {
  if (as === 1 && bs === 1) binaryContiguous(op, y, yo, a, ao, b, bo, n);
  else if (as === 1 && bs === 0) binaryScalar(op, y, yo, a, ao, b[bo], n, false);
  else if (as === 0 && bs === 1) binaryScalar(op, y, yo, b, bo, a[ao], n, true);
  else binaryStrided(op, y, yo, a, ao, as, b, bo, bs, n);
}

function binaryContiguous(
  op: Binary,
  y: Float32Array,
  yo: number,
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  n: number,
): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] + b[bo + i];
      return;
    case "sub":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] - b[bo + i];
      return;
    case "mul":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] * b[bo + i];
      return;
    case "div":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] / b[bo + i];
      return;
    default:
      binaryStrided(op, y, yo, a, ao, 1, b, bo, 1, n);
  }
}

/** `y = x op v` (or `v op x` when `swapped`) for a contiguous run of x. */
function binaryScalar(
  op: Binary,
  y: Float32Array,
  yo: number,
  x: Float32Array,
  xo: number,
  v: number,
  n: number,
  swapped: boolean,
): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) y[yo + i] = x[xo + i] + v;
      return;
    case "mul":
      for (let i = 0; i < n; i++) y[yo + i] = x[xo + i] * v;
      return;
    case "sub":
      if (swapped) { for (let i = 0; i < n; i++) y[yo + i] = v - x[xo + i]; }
      else for (let i = 0; i < n; i++) y[yo + i] = x[xo + i] - v;
      return;
    case "div":
      if (swapped) { for (let i = 0; i < n; i++) y[yo + i] = v / x[xo + i]; }
      else for (let i = 0; i < n; i++) y[yo + i] = x[xo + i] / v;
      return;
    default: {
      const scalar = new Float32Array([v]);
      if (swapped) binaryStrided(op, y, yo, scalar, 0, 0, x, xo, 1, n);
      else binaryStrided(op, y, yo, x, xo, 1, scalar, 0, 0, n);
    }
  }
}

function binaryStrided(
  op: Binary,
  y: Float32Array,
  yo: number,
  a: Float32Array,
  ao: number,
  as: number,
  b: Float32Array,
  bo: number,
  bs: number,
  n: number,
): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i * as] + b[bo + i * bs];
      return;
    case "sub":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i * as] - b[bo + i * bs];
      return;
    case "mul":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i * as] * b[bo + i * bs];
      return;
    case "div":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i * as] / b[bo + i * bs];
      return;
    case "maximum":
      for (let i = 0; i < n; i++) {
        const u = a[ao + i * as], v = b[bo + i * bs];
        y[yo + i] = u >= v ? u : v;
      }
      return;
    case "greaterEqual":
      for (let i = 0; i < n; i++) y[yo + i] = a[ao + i * as] >= b[bo + i * bs] ? 1 : 0;
      return;
  }
}

/**
 * The channel count when `b` is a per-channel bias of `a` (`[n, c, …]` plus `[1, c, 1, …]` or `[c]`
 * for a matrix), else 0.
 */
function biasChannels(a: Shape, b: Shape, out: Shape): number {
  if (out.length < 2 || a.length !== out.length || a.some((d, i) => d !== out[i])) return 0;
  const lead = out.length - b.length;
  if (lead < 0) return 0;
  for (let i = 0; i < out.length; i++) {
    const d = i < lead ? 1 : b[i - lead];
    if (d !== (i === 1 ? out[1] : 1)) return 0;
  }
  return out[1];
}

function binaryKernel(op: Binary): Kernel<Float32Array, Record<string, never>> {
  return defineKernel({
    op,
    backend: "cpu",
    run([a, b], _attrs, outShape) {
      const y = allocate(sizeOf(outShape));
      if (a.storage.length === y.length && b.storage.length === y.length) {
        if ((op === "add" || op === "sub" || op === "mul") && binarySimd(op, a.storage, b.storage, y)) {
          return y;
        }
        binaryRun(op, y, 0, a.storage, 0, 1, b.storage, 0, 1, y.length);
        return y;
      }
      const channels = op === "add" ? biasChannels(a.shape, b.shape, outShape) : 0;
      if (channels > 0 && biasAddSimd(a.storage, b.storage, y, channels, y.length / channels / outShape[0])) {
        return y;
      }
      const p = plan(outShape, [
        broadcastStrides(outShape, outShape),
        broadcastStrides(a.shape, outShape),
        broadcastStrides(b.shape, outShape),
      ]);
      const last = p.dims.length - 1;
      const as = p.strides[1][last], bs = p.strides[2][last];
      forEachRun(p, (o, n) => binaryRun(op, y, o[0], a.storage, o[1], as, b.storage, o[2], bs, n));
      return y;
    },
  });
}

type Unary = "neg" | "exp" | "log" | "sqrt" | "abs" | "sign" | "scale" | "addScalar" | "pow";

function unaryKernel<A>(op: Unary, param: (attrs: A) => number): Kernel<Float32Array, A> {
  return defineKernel<Float32Array, A>({
    op,
    backend: "cpu",
    run([x], attrs) {
      const a = x.storage, n = a.length, y = allocate(n), c = param(attrs);
      switch (op) {
        case "neg":
          for (let i = 0; i < n; i++) y[i] = -a[i];
          break;
        case "exp":
          for (let i = 0; i < n; i++) y[i] = Math.exp(a[i]);
          break;
        case "log":
          for (let i = 0; i < n; i++) y[i] = Math.log(a[i]);
          break;
        case "sqrt":
          for (let i = 0; i < n; i++) y[i] = Math.sqrt(a[i]);
          break;
        case "abs":
          for (let i = 0; i < n; i++) y[i] = Math.abs(a[i]);
          break;
        case "sign":
          for (let i = 0; i < n; i++) y[i] = a[i] > 0 ? 1 : a[i] < 0 ? -1 : 0;
          break;
        case "scale":
          for (let i = 0; i < n; i++) y[i] = a[i] * c;
          break;
        case "addScalar":
          for (let i = 0; i < n; i++) y[i] = a[i] + c;
          break;
        case "pow":
          if (c === 2) { for (let i = 0; i < n; i++) y[i] = a[i] * a[i]; }
          else if (c === 1) y.set(a);
          else for (let i = 0; i < n; i++) y[i] = Math.pow(a[i], c);
          break;
      }
      return y;
    },
  });
}

const none = () => 0;

/** Elementwise kernels for the CPU backend. */
export const elementwiseKernels: readonly Kernel<Float32Array, never>[] = [
  ...(["add", "sub", "mul", "div", "maximum", "greaterEqual"] as const).map(binaryKernel),
  ...(["neg", "exp", "log", "sqrt", "abs", "sign"] as const).map((op) => unaryKernel(op, none)),
  unaryKernel<{ factor: number }>("scale", (a) => a.factor),
  unaryKernel<{ value: number }>("addScalar", (a) => a.value),
  unaryKernel<{ exponent: number }>("pow", (a) => a.exponent),
] as Kernel<Float32Array, never>[];
