/**
 * WebGPU kernels of `relu` and `reluGrad`: one flat elementwise pass each, split into bound ranges
 * when a tensor exceeds one storage binding.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { RELU } from "@cnnlab/backend-webgpu/dispatch";
import { flatCode, flatPasses } from "./_webgpu.ts";

type NoAttrs = Record<string, never>;

const reluCode = `${RELU}${flatCode(1, "out[i] = relu(in0[i]);")}`;
const reluGradCode = flatCode(2, "out[i] = select(0.0, in0[i], in1[i] > 0.0);");

/** WebGPU kernel of `relu`: `max(x, 0)` as `Math.max` (NaN stays NaN, −0 gives +0, as on the CPU). */
export const reluWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "relu",
  backend: "webgpu",
  run([x], _attrs, outShape, backend) {
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "relu",
      code: reluCode,
      inputs: [x.storage],
      n: sizeOf(outShape),
    });
  },
});

/** WebGPU kernel of `reluGrad`: `dy` where `x > 0`, else 0. */
export const reluGradWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "reluGrad",
  backend: "webgpu",
  run([dy, x], _attrs, outShape, backend) {
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "reluGrad",
      code: reluGradCode,
      inputs: [dy.storage, x.storage],
      n: sizeOf(outShape),
    });
  },
});
