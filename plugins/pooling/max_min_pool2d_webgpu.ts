/**
 * WebGPU kernels for max and min pooling, forward and backward.
 *
 * Forward: one invocation per output scans its window with a strict comparison, so ties keep the
 * first position in row-major window order (as the CPU kernels and the reference do; −0 and +0
 * tie). Backward takes two passes: the first writes each window's winning position as its offset
 * `di·kw + dj` in the full `kh × kw` window (a small integer, exact as a float); the second is
 * gather-style, one invocation per input element summing `dy` of the windows that contain it and
 * chose it, so no atomics are needed. The offsets are a temporary buffer, released once the passes
 * are submitted. NaN inputs are unspecified.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { runKernel } from "@cnnlab/backend-webgpu/dispatch";
import type { Pool2dAttrs } from "./pool_options.ts";
import { forwardCode, gatherCode, windowParams } from "./_window_webgpu.ts";

/** Forward scan: `out[o]` = the window's first extremum, or its offset in the window when `arg`. */
function scanCode(better: ">" | "<", arg: boolean): string {
  return forwardCode(
    1,
    `  var best = in0[base + rows.x * w + cols.x];
  var at = (rows.x + ph - oi * sh) * kw + (cols.x + pw - oj * sw);
  for (var r = rows.x; r < rows.y; r++) {
    let row = base + r * w;
    let dr = (r + ph - oi * sh) * kw;
    for (var c = cols.x; c < cols.y; c++) {
      let v = in0[row + c];
      let wins = v ${better} best;
      best = select(best, v, wins);
      at = select(at, dr + c + pw - oj * sw, wins);
    }
  }
  out[o] = ${arg ? "f32(at)" : "best"};`,
  );
}

/** Gather: inputs `at` (window offsets of the winners) and `dy`. */
const GATHER = gatherCode(
  2,
  `  var acc = 0.0;
  for (var i = rows.x; i < rows.y; i++) {
    let dr = (r + ph - i * sh) * kw;
    for (var j = cols.x; j < cols.y; j++) {
      let k = obase + i * ow + j;
      acc += select(0.0, in1[k], u32(in0[k]) == dr + c + pw - j * sw);
    }
  }
  out[e] = acc;`,
);

function forwardKernel(op: string, better: ">" | "<"): Kernel<GpuStorage, Pool2dAttrs> {
  const code = scanCode(better, false);
  return defineKernel<GpuStorage, Pool2dAttrs>({
    op,
    backend: "webgpu",
    run([x], attrs, outShape, backend) {
      const count = sizeOf(outShape);
      return runKernel(backend as unknown as WebGpuBackend, {
        op,
        code,
        inputs: [x],
        outputSize: count,
        params: windowParams(count, x.shape, outShape, attrs),
      });
    },
  });
}

function backwardKernel(op: string, better: ">" | "<"): Kernel<GpuStorage, Pool2dAttrs> {
  const scan = scanCode(better, true);
  return defineKernel<GpuStorage, Pool2dAttrs>({
    op,
    backend: "webgpu",
    run([x, dy], attrs, inShape, backend) {
      const gpu = backend as unknown as WebGpuBackend;
      const outCount = sizeOf(dy.shape), inCount = sizeOf(inShape);
      const at = runKernel(gpu, {
        op,
        code: scan,
        inputs: [x],
        outputSize: outCount,
        params: windowParams(outCount, inShape, dy.shape, attrs),
      });
      const dx = runKernel(gpu, {
        op,
        code: GATHER,
        inputs: [{ storage: at, shape: dy.shape }, dy],
        outputSize: inCount,
        params: windowParams(inCount, inShape, dy.shape, attrs),
      });
      gpu.release(at.buffer); // reused only after the passes above are submitted
      return dx;
    },
  });
}

/**
 * WebGPU kernel of `maxPool2d`: each output is its window's first maximum.
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("maxPool2d", "webgpu"));
 * ```
 */
export const maxPool2dWebgpu: Kernel<GpuStorage, Pool2dAttrs> = forwardKernel("maxPool2d", ">");
/**
 * WebGPU kernel of `maxPool2dBackward`: `dy` goes to each window's first argmax (gather-style).
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("maxPool2dBackward", "webgpu"));
 * ```
 */
export const maxPool2dBackwardWebgpu: Kernel<GpuStorage, Pool2dAttrs> = backwardKernel(
  "maxPool2dBackward",
  ">",
);
/**
 * WebGPU kernel of `minPool2d`: each output is its window's first minimum.
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("minPool2d", "webgpu"));
 * ```
 */
export const minPool2dWebgpu: Kernel<GpuStorage, Pool2dAttrs> = forwardKernel("minPool2d", "<");
/**
 * WebGPU kernel of `minPool2dBackward`: `dy` goes to each window's first argmin (gather-style).
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("minPool2dBackward", "webgpu"));
 * ```
 */
export const minPool2dBackwardWebgpu: Kernel<GpuStorage, Pool2dAttrs> = backwardKernel(
  "minPool2dBackward",
  "<",
);
