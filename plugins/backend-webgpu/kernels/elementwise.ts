/**
 * WebGPU kernels for the elementwise primitives. Same-shape and scalar-operand calls larger than one
 * binding are split into bound ranges; general broadcasting walks strides.
 * @module
 */
import { defineKernel, type Kernel, type KernelInput, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "../backend.ts";
import { assertBindable, bindings, f32bits, grid, PRELUDE, record, runKernel, strides } from "../dispatch.ts";

const MAX_RANK = 8;

const BINARY: Record<string, string> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / b",
  maximum: "select(b, a, a >= b)",
  greaterEqual: "select(0.0, 1.0, a >= b)",
};

const UNARY: Record<string, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "log(x)",
  sqrt: "sqrt(x)",
  abs: "abs(x)",
  sign: "sign(x)",
  scale: "x * c",
  addScalar: "x + c",
  pow:
    "select(pow(abs(x), c) * select(1.0, -1.0, x < 0.0 && fract(c * 0.5) != 0.0 && fract(c) == 0.0), x * x, c == 2.0)",
};

/** Same-shape (or scalar second operand) binary op over a range: params = [n, bIsScalar]. */
function flatBinaryCode(expr: string): string {
  return `${bindings(2)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params[0]) { return; }
  let a = in0[i];
  let b = in1[select(i, 0u, params[1] == 1u)];
  out[i] = ${expr};
}`;
}

/** Broadcasting binary op: params = [n, rank, outStrides…, aStrides…, bStrides…] (MAX_RANK each). */
function stridedBinaryCode(expr: string): string {
  return `${bindings(2)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params[0]) { return; }
  let rank = params[1];
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = 0u; d < rank; d++) {
    let s = params[2u + d];
    let c = rest / s;
    rest = rest % s;
    ia += c * params[2u + ${MAX_RANK}u + d];
    ib += c * params[2u + ${2 * MAX_RANK}u + d];
  }
  let a = in0[ia];
  let b = in1[ib];
  out[i] = ${expr};
}`;
}

function unaryCode(expr: string): string {
  return `${bindings(1)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params[0]) { return; }
  let x = in0[i];
  let c = bitcast<f32>(params[1]);
  out[i] = ${expr};
}`;
}

/** Broadcast strides of `inShape` in the space of `outShape` (0 where broadcast), padded to MAX_RANK. */
export function broadcastStridesPadded(inShape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const own = strides(inShape);
  const out = new Array<number>(MAX_RANK).fill(0);
  for (let d = 0; d < inShape.length; d++) out[d + rank - inShape.length] = inShape[d] === 1 ? 0 : own[d];
  return out;
}

/** Output strides padded to MAX_RANK (1 past the rank). */
export function stridesPadded(shape: readonly number[]): number[] {
  const s = strides(shape);
  return [...s, ...new Array<number>(MAX_RANK - s.length).fill(1)];
}

/**
 * Runs a flat (same-length, or scalar-operand) elementwise pass, split into bound ranges when a
 * tensor exceeds the binding limit.
 */
function flatPasses(
  backend: WebGpuBackend,
  code: string,
  inputs: readonly GpuStorage[],
  n: number,
  extraParams: readonly number[],
  scalarFlags: readonly boolean[],
): GpuStorage {
  const out = backend.acquire(n * 4);
  const chunk = Math.floor(backend.maxBindingBytes / backend.offsetAlignment) * (backend.offsetAlignment / 4);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const range = (b: GPUBuffer, scalar: boolean) =>
      scalar
        ? { buffer: b, offset: 0, size: 16 }
        : { buffer: b, offset: start * 4, size: Math.ceil(count / 4) * 16 };
    const words = [count, ...extraParams];
    const params = backend.acquire(Math.max(16, words.length * 4));
    backend.device.queue.writeBuffer(params, 0, Uint32Array.from(words));
    record(backend, code, [
      ...inputs.map((s, k) => range(s.buffer, scalarFlags[k])),
      range(out, false),
      params,
    ], grid(count));
    backend.release(params);
  }
  return { buffer: out, size: n };
}

function binaryKernel(op: string): Kernel<GpuStorage, Record<string, never>> {
  const flat = flatBinaryCode(BINARY[op]), strided = stridedBinaryCode(BINARY[op]);
  return defineKernel({
    op,
    backend: "webgpu",
    run([a, b]: readonly KernelInput<GpuStorage>[], _attrs, outShape, backend) {
      const n = sizeOf(outShape);
      const gpu = backend as unknown as WebGpuBackend;
      if (a.storage.size === n && (b.storage.size === n || b.storage.size === 1)) {
        return flatPasses(gpu, flat, [a.storage, b.storage], n, [b.storage.size === 1 ? 1 : 0], [
          false,
          b.storage.size === 1,
        ]);
      }
      assertBindable(gpu, op, [a.storage.size, b.storage.size, n]);
      if (outShape.length > MAX_RANK) {
        throw new RangeError(
          `Cannot run op "${op}" on backend "webgpu": rank ${outShape.length} exceeds ${MAX_RANK}`,
        );
      }
      const params = [
        n,
        outShape.length,
        ...stridesPadded(outShape),
        ...broadcastStridesPadded(a.shape, outShape),
        ...broadcastStridesPadded(b.shape, outShape),
      ];
      return runKernel(gpu, { op, code: strided, inputs: [a, b], outputSize: n, params });
    },
  });
}

function unaryKernel(
  op: string,
  param: (attrs: Record<string, number>) => number,
): Kernel<GpuStorage, never> {
  const code = unaryCode(UNARY[op]);
  return defineKernel<GpuStorage, never>({
    op,
    backend: "webgpu",
    run([x], attrs, outShape, backend) {
      const n = sizeOf(outShape);
      return flatPasses(backend as unknown as WebGpuBackend, code, [x.storage], n, [
        f32bits(param(attrs as Record<string, number>)),
      ], [false]);
    },
  });
}

/** Elementwise kernels for the WebGPU backend. */
export const elementwiseKernels: readonly Kernel<GpuStorage, never>[] = [
  ...Object.keys(BINARY).map(binaryKernel),
  ...["neg", "exp", "log", "sqrt", "abs", "sign"].map((op) => unaryKernel(op, () => 0)),
  unaryKernel("scale", (a) => a.factor),
  unaryKernel("addScalar", (a) => a.value),
  unaryKernel("pow", (a) => a.exponent),
] as Kernel<GpuStorage, never>[];
