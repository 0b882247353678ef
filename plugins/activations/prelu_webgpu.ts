/**
 * WebGPU kernels of `prelu`, `preluGrad` and `preluAlphaGrad`.
 *
 * Design notes: `prelu` and `preluGrad` are flat elementwise passes (split into bound ranges when a
 * tensor exceeds one storage binding; the slopes are bound whole) that find the channel of element
 * `g` as `(g / inner) % channels`. `preluAlphaGrad` is a reduction over batch and positions per
 * channel: one 256-wide workgroup per channel strides over its `batch × inner` elements, then
 * halves a tree in workgroup memory, so each channel is summed with no atomics and no second pass.
 * It accumulates in float32 (the CPU kernel in float64): for a channel of m terms the error grows
 * like √m·2⁻²⁴ relative to the sum of magnitudes.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, runKernel } from "@cnnlab/backend-webgpu/dispatch";
import { channelSplit } from "./_shape.ts";
import { flatCode, flatPasses } from "./_webgpu.ts";

type NoAttrs = Record<string, never>;

// params: [count, start, channels, inner]
const preluCode = flatCode(
  2,
  "let v = in0[i];\n  let a = in1[(g / params[3]) % params[2]];\n  out[i] = select(a * v, v, v > 0.0);",
);
const preluGradCode = flatCode(
  3,
  "let a = in2[(g / params[3]) % params[2]];\n  out[i] = select(a * in0[i], in0[i], in1[i] > 0.0);",
);

const alphaGradCode = `${bindings(2)}
var<workgroup> part: array<f32, 256>;
// params: [channels, outer, inner]; one workgroup per channel.
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                      @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= params[0]) { return; }
  let channels = params[0];
  let inner = params[2];
  let m = params[1] * inner;
  var acc = 0.0;
  for (var r = lid; r < m; r += 256u) {
    let off = ((r / inner) * channels + c) * inner + r % inner;
    let v = in1[off];
    if (!(v > 0.0)) { acc += in0[off] * v; }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = part[lid] + part[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[c] = part[0]; }
}`;

/** WebGPU kernel of `prelu`: `x > 0 ? x : alpha[c]·x`. */
export const preluWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "prelu",
  backend: "webgpu",
  run([x, alpha], _attrs, outShape, backend) {
    const { channels, inner } = channelSplit(x.shape, "prelu");
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "prelu",
      code: preluCode,
      inputs: [x.storage, alpha.storage],
      n: sizeOf(outShape),
      extra: [channels, inner],
      whole: [false, true],
    });
  },
});

/** WebGPU kernel of `preluGrad`: `dy · (x > 0 ? 1 : alpha[c])`. */
export const preluGradWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "preluGrad",
  backend: "webgpu",
  run([dy, x, alpha], _attrs, outShape, backend) {
    const { channels, inner } = channelSplit(x.shape, "preluGrad");
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "preluGrad",
      code: preluGradCode,
      inputs: [dy.storage, x.storage, alpha.storage],
      n: sizeOf(outShape),
      extra: [channels, inner],
      whole: [false, false, true],
    });
  },
});

/** WebGPU kernel of `preluAlphaGrad`: one workgroup per channel, tree reduction in workgroup memory. */
export const preluAlphaGradWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "preluAlphaGrad",
  backend: "webgpu",
  run([dy, x], _attrs, _outShape, backend) {
    const { outer, channels, inner } = channelSplit(x.shape, "preluAlphaGrad");
    const gx = Math.min(channels, 65535);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "preluAlphaGrad",
      code: alphaGradCode,
      inputs: [dy, x],
      outputSize: channels,
      params: [channels, outer, inner],
      workgroups: [gx, Math.ceil(channels / gx), 1],
    });
  },
});
