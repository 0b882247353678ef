/**
 * WebGPU kernels for average pooling over the valid positions of each window (padding is not
 * counted), forward and backward. The backward kernel is gather-style: one invocation per input
 * element sums `dy / count` over the windows that contain it, so no atomics are needed.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { runKernel } from "@cnnlab/backend-webgpu/dispatch";
import type { AvgPool2dBackwardAttrs } from "./avg_pool2d.ts";
import type { Pool2dAttrs } from "./pool_options.ts";
import { forwardCode, gatherCode, windowParams } from "./_window_webgpu.ts";

const FORWARD = forwardCode(
  1,
  `  var s = 0.0;
  for (var r = rows.x; r < rows.y; r++) {
    let row = base + r * w;
    for (var c = cols.x; c < cols.y; c++) { s += in0[row + c]; }
  }
  out[o] = s / f32((rows.y - rows.x) * (cols.y - cols.x));`,
);

const BACKWARD = gatherCode(
  1,
  `  var acc = 0.0;
  for (var i = rows.x; i < rows.y; i++) {
    let wr = span(i, kh, sh, ph, h);
    for (var j = cols.x; j < cols.y; j++) {
      let wc = span(j, kw, sw, pw, w);
      acc += in0[obase + i * ow + j] / f32((wr.y - wr.x) * (wc.y - wc.x));
    }
  }
  out[e] = acc;`,
);

/**
 * WebGPU kernel of `avgPool2d`.
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("avgPool2d", "webgpu"));
 * ```
 */
export const avgPool2dWebgpu: Kernel<GpuStorage, Pool2dAttrs> = defineKernel<GpuStorage, Pool2dAttrs>({
  op: "avgPool2d",
  backend: "webgpu",
  run([x], attrs, outShape, backend) {
    const count = sizeOf(outShape);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "avgPool2d",
      code: FORWARD,
      inputs: [x],
      outputSize: count,
      params: windowParams(count, x.shape, outShape, attrs),
    });
  },
});

/**
 * WebGPU kernel of `avgPool2dBackward`: each input element gathers `dy / count` from every window
 * that contains it.
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("avgPool2dBackward", "webgpu"));
 * ```
 */
export const avgPool2dBackwardWebgpu: Kernel<GpuStorage, AvgPool2dBackwardAttrs> = defineKernel<
  GpuStorage,
  AvgPool2dBackwardAttrs
>({
  op: "avgPool2dBackward",
  backend: "webgpu",
  run([dy], attrs, inShape, backend) {
    const count = sizeOf(inShape);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "avgPool2dBackward",
      code: BACKWARD,
      inputs: [dy],
      outputSize: count,
      params: windowParams(count, inShape, dy.shape, attrs),
    });
  },
});
