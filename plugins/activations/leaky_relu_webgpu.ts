/**
 * WebGPU kernels of `leakyRelu` and `leakyReluGrad`: one flat elementwise pass each (the slope
 * travels as a parameter word), split into bound ranges when a tensor exceeds one storage binding.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { f32bits } from "@cnnlab/backend-webgpu/dispatch";
import { flatCode, flatPasses } from "./_webgpu.ts";
import type { LeakyReluAttrs } from "./leaky_relu.ts";

const leakyReluCode = flatCode(
  1,
  "let v = in0[i];\n  let a = bitcast<f32>(params[2]);\n  out[i] = select(a * v, v, v > 0.0);",
);
const leakyReluGradCode = flatCode(
  2,
  "let a = bitcast<f32>(params[2]);\n  out[i] = select(a * in0[i], in0[i], in1[i] > 0.0);",
);

/** WebGPU kernel of `leakyRelu`: `x > 0 ? x : alpha·x`. */
export const leakyReluWebgpu: Kernel<GpuStorage, LeakyReluAttrs> = defineKernel<GpuStorage, LeakyReluAttrs>({
  op: "leakyRelu",
  backend: "webgpu",
  run([x], { alpha }, outShape, backend) {
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "leakyRelu",
      code: leakyReluCode,
      inputs: [x.storage],
      n: sizeOf(outShape),
      extra: [f32bits(alpha)],
    });
  },
});

/** WebGPU kernel of `leakyReluGrad`: `dy · (x > 0 ? 1 : alpha)`. */
export const leakyReluGradWebgpu: Kernel<GpuStorage, LeakyReluAttrs> = defineKernel<
  GpuStorage,
  LeakyReluAttrs
>({
  op: "leakyReluGrad",
  backend: "webgpu",
  run([dy, x], { alpha }, outShape, backend) {
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "leakyReluGrad",
      code: leakyReluGradCode,
      inputs: [dy.storage, x.storage],
      n: sizeOf(outShape),
      extra: [f32bits(alpha)],
    });
  },
});
