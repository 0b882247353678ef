/**
 * WebGPU kernels for `sum` and `max`: one 256-wide workgroup per output element strides over the
 * reduced elements, then a tree reduction in workgroup memory.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "../backend.ts";
import { bindings, runKernel, strides } from "../dispatch.ts";

const MAX_RANK = 8;

function code(op: "sum" | "max"): string {
  const init = op === "sum" ? "0.0" : "-3.4028235e38";
  const combine = op === "sum" ? "acc + v" : "max(acc, v)";
  return `${bindings(1)}
var<workgroup> part: array<f32, 256>;
// params: [outCount, reducedCount, keptRank, reducedRank,
//          keptSizes[8], keptStrides[8] (input strides of kept axes),
//          reducedSizes[8], reducedStrides[8]]
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                      @builtin(local_invocation_index) lid: u32) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= params[0]) { return; }
  var rest = o;
  var base = 0u;
  for (var d = i32(params[2]) - 1; d >= 0; d--) {
    let size = params[4u + u32(d)];
    base += (rest % size) * params[${4 + MAX_RANK}u + u32(d)];
    rest = rest / size;
  }
  var acc = ${init};
  for (var r = lid; r < params[1]; r += 256u) {
    var rr = r;
    var off = base;
    for (var d = i32(params[3]) - 1; d >= 0; d--) {
      let size = params[${4 + 2 * MAX_RANK}u + u32(d)];
      off += (rr % size) * params[${4 + 3 * MAX_RANK}u + u32(d)];
      rr = rr / size;
    }
    let v = in0[off];
    acc = ${combine};
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      let v = part[lid + s];
      let acc2 = part[lid];
      part[lid] = ${op === "sum" ? "acc2 + v" : "max(acc2, v)"};
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[o] = part[0]; }
}`;
}

function reduceKernel(op: "sum" | "max"): Kernel<GpuStorage, { axes?: readonly number[] }> {
  const wgsl = code(op);
  return defineKernel<GpuStorage, { axes?: readonly number[] }>({
    op,
    backend: "webgpu",
    run([x], attrs, outShape, backend) {
      const shape = x.shape;
      const axes = new Set((attrs.axes ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a)));
      const st = strides(shape);
      const kept = shape.map((_, i) => i).filter((i) => !axes.has(i));
      const reduced = shape.map((_, i) => i).filter((i) => axes.has(i));
      const pad = (v: number[]) => [...v, ...new Array<number>(MAX_RANK - v.length).fill(1)];
      const outCount = sizeOf(outShape);
      const reducedCount = reduced.reduce((p, i) => p * shape[i], 1);
      const params = [
        outCount,
        reducedCount,
        kept.length,
        reduced.length,
        ...pad(kept.map((i) => shape[i])),
        ...pad(kept.map((i) => st[i])),
        ...pad(reduced.map((i) => shape[i])),
        ...pad(reduced.map((i) => st[i])),
      ];
      const gx = Math.min(outCount, 65535);
      return runKernel(backend as unknown as WebGpuBackend, {
        op,
        code: wgsl,
        inputs: [x],
        outputSize: outCount,
        params,
        workgroups: [gx, Math.ceil(outCount / gx), 1],
      });
    },
  });
}

/** Reduction kernels for the WebGPU backend. */
export const reduceKernels: readonly Kernel<GpuStorage, { axes?: readonly number[] }>[] = [
  reduceKernel("sum"),
  reduceKernel("max"),
];
