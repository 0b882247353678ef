/**
 * WebGPU kernels of `elu` and `eluGrad`: one flat elementwise pass each (alpha travels as a
 * parameter word), split into bound ranges when a tensor exceeds one storage binding.
 *
 * Design notes: WGSL has no `expm1`, and `exp(v) − 1` loses most of its float32 digits for small
 * |v|, so for |v| < 1e-2 the kernel uses the series `v + v²/2 + v³/6` (relative error below 1e-8
 * there), matching the CPU kernel's `Math.expm1` to float32 rounding.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { f32bits } from "@cnnlab/backend-webgpu/dispatch";
import { flatCode, flatPasses } from "./_webgpu.ts";
import type { EluAttrs } from "./elu.ts";

const EXPM1 = `
fn expm1(v: f32) -> f32 {
  return select(exp(v) - 1.0, v * (1.0 + v * (0.5 + v * (1.0 / 6.0))), abs(v) < 1e-2);
}`;

const eluCode = flatCode(
  1,
  "let v = in0[i];\n  let a = bitcast<f32>(params[2]);\n  out[i] = select(a * expm1(v), v, v > 0.0);",
) + EXPM1;
const eluGradCode = flatCode(
  2,
  "let v = in1[i];\n  let a = bitcast<f32>(params[2]);\n  out[i] = select(in0[i] * a * exp(v), in0[i], v > 0.0);",
);

/** WebGPU kernel of `elu`: `x > 0 ? x : alpha·(eˣ − 1)`. */
export const eluWebgpu: Kernel<GpuStorage, EluAttrs> = defineKernel<GpuStorage, EluAttrs>({
  op: "elu",
  backend: "webgpu",
  run([x], { alpha }, outShape, backend) {
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "elu",
      code: eluCode,
      inputs: [x.storage],
      n: sizeOf(outShape),
      extra: [f32bits(alpha)],
    });
  },
});

/** WebGPU kernel of `eluGrad`: `dy · (x > 0 ? 1 : alpha·eˣ)`. */
export const eluGradWebgpu: Kernel<GpuStorage, EluAttrs> = defineKernel<GpuStorage, EluAttrs>({
  op: "eluGrad",
  backend: "webgpu",
  run([dy, x], { alpha }, outShape, backend) {
    return flatPasses(backend as unknown as WebGpuBackend, {
      op: "eluGrad",
      code: eluGradCode,
      inputs: [dy.storage, x.storage],
      n: sizeOf(outShape),
      extra: [f32bits(alpha)],
    });
  },
});
