/**
 * WebGPU kernels for `reshape` (a buffer copy), `transpose` and `broadcastTo` (strided gathers) and
 * `matmul` (16×16 tiles in workgroup memory, transposes folded into the loads).
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "../backend.ts";
import { assertBindable, bindings, PRELUDE, runKernel, strides } from "../dispatch.ts";
import { broadcastStridesPadded, stridesPadded } from "./elementwise.ts";

const MAX_RANK = 8;

const gatherCode = `${bindings(1)}${PRELUDE}
// params: [n, rank, outStrides[8], inStrides[8]]
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params[0]) { return; }
  var rest = i;
  var off = 0u;
  for (var d = 0u; d < params[1]; d++) {
    let s = params[2u + d];
    off += (rest / s) * params[${2 + MAX_RANK}u + d];
    rest = rest % s;
  }
  out[i] = in0[off];
}`;

const reshape = defineKernel<GpuStorage, unknown>({
  op: "reshape",
  backend: "webgpu",
  run([x], _attrs, _out, backend) {
    const gpu = backend as unknown as WebGpuBackend;
    const buffer = gpu.acquire(x.storage.size * 4);
    gpu.encoder().copyBufferToBuffer(x.storage.buffer, 0, buffer, 0, buffer.size);
    gpu.passRecorded();
    return { buffer, size: x.storage.size };
  },
});

const transpose = defineKernel<GpuStorage, { perm: readonly number[] }>({
  op: "transpose",
  backend: "webgpu",
  run([x], { perm }, outShape, backend) {
    const inStrides = strides(x.shape);
    const permuted = perm.map((a) => inStrides[a]);
    const n = sizeOf(outShape);
    const params = [
      n,
      outShape.length,
      ...stridesPadded(outShape),
      ...permuted,
      ...new Array(MAX_RANK - perm.length).fill(0),
    ];
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "transpose",
      code: gatherCode,
      inputs: [x],
      outputSize: n,
      params,
    });
  },
});

const broadcastTo = defineKernel<GpuStorage, unknown>({
  op: "broadcastTo",
  backend: "webgpu",
  run([x], _attrs, outShape, backend) {
    const n = sizeOf(outShape);
    const params = [
      n,
      outShape.length,
      ...stridesPadded(outShape),
      ...broadcastStridesPadded(x.shape, outShape),
    ];
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "broadcastTo",
      code: gatherCode,
      inputs: [x],
      outputSize: n,
      params,
    });
  },
});

const TILE = 16;
const matmulCode = `${bindings(2)}
var<workgroup> ta: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> tb: array<array<f32, ${TILE}>, ${TILE}>;
// params: [m, n, k, transposeA, transposeB]
@compute @workgroup_size(${TILE}, ${TILE}) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m = params[0]; let n = params[1]; let k = params[2];
  let row = wid.y * ${TILE}u + lid.y;
  let col = wid.x * ${TILE}u + lid.x;
  var acc = 0.0;
  for (var t = 0u; t < k; t += ${TILE}u) {
    let ka = t + lid.x;
    var av = 0.0;
    if (row < m && ka < k) { av = select(in0[row * k + ka], in0[ka * m + row], params[3] == 1u); }
    ta[lid.y][lid.x] = av;
    let kb = t + lid.y;
    var bv = 0.0;
    if (col < n && kb < k) { bv = select(in1[kb * n + col], in1[col * k + kb], params[4] == 1u); }
    tb[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var q = 0u; q < ${TILE}u; q++) { acc += ta[lid.y][q] * tb[q][lid.x]; }
    workgroupBarrier();
  }
  if (row < m && col < n) { out[row * n + col] = acc; }
}`;

const matmul = defineKernel<GpuStorage, { transposeA?: boolean; transposeB?: boolean }>({
  op: "matmul",
  backend: "webgpu",
  run([a, b], { transposeA, transposeB }, [m, n], backend) {
    const gpu = backend as unknown as WebGpuBackend;
    const k = transposeA ? a.shape[0] : a.shape[1];
    assertBindable(gpu, "matmul", [a.storage.size, b.storage.size, m * n]);
    return runKernel(gpu, {
      op: "matmul",
      code: matmulCode,
      inputs: [a, b],
      outputSize: m * n,
      params: [m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0],
      workgroups: [Math.ceil(n / TILE), Math.ceil(m / TILE), 1],
    });
  },
});

/** Layout and matmul kernels for the WebGPU backend. */
export const layoutKernels: readonly Kernel<GpuStorage, never>[] = [
  reshape,
  transpose,
  broadcastTo,
  matmul,
] as Kernel<GpuStorage, never>[];
