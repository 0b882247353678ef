/**
 * WebGPU kernels of `momentUpdate` and `adamApply`: one flat elementwise pass each, split into
 * bound ranges when a tensor exceeds one storage binding (AlexNet's first dense layer holds 151 MB
 * of weights, more than the 128 MiB a binding usually allows). Factors travel as parameter words.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, f32bits, grid, paramsBuffer, PRELUDE, record } from "@cnnlab/backend-webgpu/dispatch";
import type { MomentUpdateAttrs } from "./moment_update.ts";
import { type AdamApplyAttrs, adamFactors } from "./adam_apply.ts";

/** WGSL of a flat pass over three inputs; `body` writes `out[i]` and reads `params[2]`, …. */
function flatCode(body: string): string {
  return `${bindings(3)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params[0]) { return; }
  ${body}
}`;
}

/** Records flat passes over `n` values of three same-sized inputs, range by range. */
function flatPasses(
  backend: WebGpuBackend,
  code: string,
  inputs: readonly GpuStorage[],
  n: number,
  extra: readonly number[],
): GpuStorage {
  const out = backend.acquire(n * 4);
  // Ranges start at multiples of the offset alignment and stay within one binding.
  const chunk = Math.floor(backend.maxBindingBytes / backend.offsetAlignment) * (backend.offsetAlignment / 4);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const range = (buffer: GPUBuffer) => ({ buffer, offset: start * 4, size: Math.ceil(count / 4) * 16 });
    record(backend, code, [
      ...inputs.map((s) => range(s.buffer)),
      range(out),
      paramsBuffer(backend, [count, start, ...extra]),
    ], grid(count));
  }
  return { buffer: out, size: n };
}

const momentCode = (power: 1 | 2) =>
  flatCode(`let g = in1[i] + in2[i] * bitcast<f32>(params[4]);
  out[i] = in0[i] * bitcast<f32>(params[2]) + ${power === 2 ? "(g * g)" : "g"} * bitcast<f32>(params[3]);`);
const momentCodes = { 1: momentCode(1), 2: momentCode(2) } as const;

const adamCode = flatCode(`let denominator = sqrt(in2[i]) * bitcast<f32>(params[3]) + bitcast<f32>(params[4]);
  out[i] = in0[i] - (in1[i] / denominator) * bitcast<f32>(params[2]);`);

/** WebGPU kernel of `momentUpdate`: `decay·s + gain·(g + weightDecay·p)^power`. */
export const momentUpdateWebgpu: Kernel<GpuStorage, MomentUpdateAttrs> = defineKernel<
  GpuStorage,
  MomentUpdateAttrs
>({
  op: "momentUpdate",
  backend: "webgpu",
  run([s, g, p], { decay, gain, power, weightDecay }, outShape, backend) {
    return flatPasses(
      backend as unknown as WebGpuBackend,
      momentCodes[power],
      [s.storage, g.storage, p.storage],
      sizeOf(outShape),
      [f32bits(decay), f32bits(gain), f32bits(weightDecay)],
    );
  },
});

/** WebGPU kernel of `adamApply`: the bias factors are computed on the host in float64. */
export const adamApplyWebgpu: Kernel<GpuStorage, AdamApplyAttrs> = defineKernel<GpuStorage, AdamApplyAttrs>({
  op: "adamApply",
  backend: "webgpu",
  run([p, m, v], attrs, outShape, backend) {
    const [stepFactor, rootFactor] = adamFactors(attrs);
    return flatPasses(
      backend as unknown as WebGpuBackend,
      adamCode,
      [p.storage, m.storage, v.storage],
      sizeOf(outShape),
      [f32bits(stepFactor), f32bits(rootFactor), f32bits(attrs.epsilon)],
    );
  },
});
