/**
 * WebGPU kernels of `maxout` and `maxoutGrad`: one invocation per output position of the forward
 * pass. `maxout` scans its group's `pieces` channels; `maxoutGrad` finds the same argmax (the first
 * on ties, as on the CPU) and writes every `dx` value of its group (`dy` at the argmax, 0 at the
 * others), so each `dx` element is written exactly once and no clearing pass is needed.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, PRELUDE, runKernel } from "@cnnlab/backend-webgpu/dispatch";
import { channelSplit } from "./_shape.ts";
import type { MaxoutAttrs } from "./maxout.ts";

// params: [outputs, inner, pieces]; output o = (group g = o / inner, position p = o % inner); the
// group's first input is (g·pieces)·inner + p, its pieces are inner apart.
const GROUP = `
  let o = index(gid, nwg);
  if (o >= params[0]) { return; }
  let inner = params[1];
  let pieces = params[2];
  let first = (o / inner) * pieces * inner + o % inner;`;

const maxoutCode = `${bindings(1)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {${GROUP}
  var best = in0[first];
  for (var i = 1u; i < pieces; i++) {
    let v = in0[first + i * inner];
    if (v > best) { best = v; }
  }
  out[o] = best;
}`;

const maxoutGradCode = `${bindings(2)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {${GROUP}
  var best = in1[first];
  var arg = 0u;
  for (var i = 1u; i < pieces; i++) {
    let v = in1[first + i * inner];
    if (v > best) { best = v; arg = i; }
  }
  let g = in0[o];
  for (var i = 0u; i < pieces; i++) { out[first + i * inner] = select(0.0, g, i == arg); }
}`;

/** WebGPU kernel of `maxout`: the max over each group of `pieces` consecutive channels. */
export const maxoutWebgpu: Kernel<GpuStorage, MaxoutAttrs> = defineKernel<GpuStorage, MaxoutAttrs>({
  op: "maxout",
  backend: "webgpu",
  run([x], { pieces }, outShape, backend) {
    const { inner } = channelSplit(x.shape, "maxout");
    const n = sizeOf(outShape);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "maxout",
      code: maxoutCode,
      inputs: [x],
      outputSize: n,
      params: [n, inner, pieces],
    });
  },
});

/** WebGPU kernel of `maxoutGrad`: `dy` routed to each group's argmax (the first on ties). */
export const maxoutGradWebgpu: Kernel<GpuStorage, MaxoutAttrs> = defineKernel<GpuStorage, MaxoutAttrs>({
  op: "maxoutGrad",
  backend: "webgpu",
  run([dy, x], { pieces }, outShape, backend) {
    const { inner } = channelSplit(x.shape, "maxoutGrad");
    const n = sizeOf(dy.shape);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "maxoutGrad",
      code: maxoutGradCode,
      inputs: [dy, x],
      outputSize: sizeOf(outShape),
      params: [n, inner, pieces],
      threads: n,
    });
  },
});
