/**
 * WebGPU kernels for Lp pooling, forward and backward.
 *
 * Numerical stability: float32 leaves range far sooner than the CPU kernels' float64 (`|x|^2`
 * overflows past 1.8e19), so for every p > 1 each window is scaled by its largest `|x|` before
 * powering: `y = m · (Σ (|x|/m)^p / n)^(1/p)` (n = 1 for the sum form, the valid count for the mean
 * form); an all-zero window gives 0. p = 2 takes `sqrt` for the root. The gradient is
 * `dy · (|x|/y)^(p−1) · sign(x) / n`, the op's `dy · y^(1−p) · |x|^(p−1) · sign(x) / n` without
 * forming either power, and a window whose output is 0 contributes 0. Integer exponents (up to
 * 2^20) are powered by squaring, others by `pow` (with `0^e = 0`).
 *
 * The backward kernel is gather-style: one invocation per input element sums over the windows that
 * contain it, so no atomics are needed.
 *
 * Extra parameter words after the window (`p3` in WGSL): `[p bits, mean, p is an integer, p as an
 * integer]`.
 * @module
 */
import { defineKernel, type Kernel, sizeOf } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { f32bits, runKernel } from "@cnnlab/backend-webgpu/dispatch";
import type { LpPool2dAttrs } from "./lp_pool2d.ts";
import { forwardCode, gatherCode, windowParams } from "./_window_webgpu.ts";

/** Largest integer exponent powered by squaring; beyond it `pow` is as accurate and never loops long. */
const MAX_INT_EXPONENT = 2 ** 20;

const POWER = `
// a^e for a >= 0: by squaring when e is the integer ie (isInt), else pow, with 0^e = 0.
fn power(a: f32, e: f32, ie: u32, isInt: bool) -> f32 {
  if (isInt) {
    var r = 1.0;
    var v = a;
    var k = ie;
    while (k > 0u) {
      if ((k & 1u) == 1u) { r *= v; }
      k = k >> 1u;
      if (k > 0u) { v *= v; }
    }
    return r;
  }
  return select(pow(a, e), 0.0, a == 0.0);
}
`;

const FORWARD = forwardCode(
  1,
  `  let p = bitcast<f32>(p3.x);
  let n = select(1.0, f32((rows.y - rows.x) * (cols.y - cols.x)), p3.y == 1u);
  if (p == 1.0) {
    var s = 0.0;
    for (var r = rows.x; r < rows.y; r++) {
      let row = base + r * w;
      for (var c = cols.x; c < cols.y; c++) { s += abs(in0[row + c]); }
    }
    out[o] = s / n;
    return;
  }
  var m = 0.0;
  for (var r = rows.x; r < rows.y; r++) {
    let row = base + r * w;
    for (var c = cols.x; c < cols.y; c++) { m = max(m, abs(in0[row + c])); }
  }
  if (m == 0.0) {
    out[o] = 0.0;
    return;
  }
  let isInt = p3.z == 1u;
  let ip = p3.w;
  let inv = 1.0 / m;
  var s = 0.0;
  for (var r = rows.x; r < rows.y; r++) {
    let row = base + r * w;
    for (var c = cols.x; c < cols.y; c++) { s += power(abs(in0[row + c]) * inv, p, ip, isInt); }
  }
  let q = s / n;
  out[o] = m * select(pow(q, 1.0 / p), sqrt(q), p == 2.0);`,
  POWER,
);

/** Inputs `x`, `y`, `dy`. */
const BACKWARD = gatherCode(
  3,
  `  let v = in0[e];
  let a = abs(v);
  let pm1 = bitcast<f32>(p3.x) - 1.0;
  let mean = p3.y == 1u;
  let isInt = p3.z == 1u;
  let ipm1 = max(p3.w, 1u) - 1u;
  var acc = 0.0;
  if (a != 0.0) {
    for (var i = rows.x; i < rows.y; i++) {
      let wr = span(i, kh, sh, ph, h);
      for (var j = cols.x; j < cols.y; j++) {
        let k = obase + i * ow + j;
        let y = in1[k];
        if (y != 0.0) {
          let wc = span(j, kw, sw, pw, w);
          let n = select(1.0, f32((wr.y - wr.x) * (wc.y - wc.x)), mean);
          acc += in2[k] / n * power(a / y, pm1, ipm1, isInt);
        }
      }
    }
  }
  out[e] = acc * sign(v);`,
  POWER,
);

function lpParams(
  count: number,
  inShape: readonly number[],
  outShape: readonly number[],
  attrs: LpPool2dAttrs,
) {
  const isInt = Number.isInteger(attrs.p) && attrs.p <= MAX_INT_EXPONENT;
  return windowParams(count, inShape, outShape, attrs, [
    f32bits(attrs.p),
    attrs.mean ? 1 : 0,
    isInt ? 1 : 0,
    isInt ? attrs.p : 0,
  ]);
}

/**
 * WebGPU kernel of `lpPool2d`, scaling each window by its largest `|x|` so large p stays finite.
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("lpPool2d", "webgpu"));
 * ```
 */
export const lpPool2dWebgpu: Kernel<GpuStorage, LpPool2dAttrs> = defineKernel<GpuStorage, LpPool2dAttrs>({
  op: "lpPool2d",
  backend: "webgpu",
  run([x], attrs, outShape, backend) {
    const count = sizeOf(outShape);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "lpPool2d",
      code: FORWARD,
      inputs: [x],
      outputSize: count,
      params: lpParams(count, x.shape, outShape, attrs),
    });
  },
});

/**
 * WebGPU kernel of `lpPool2dBackward` (inputs `x`, `y`, `dy`), gather-style; all-zero windows
 * contribute 0.
 *
 * @example Registered by the plugin beside the CPU kernel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import pooling from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.ok(new Registry().use(pooling).hasKernel("lpPool2dBackward", "webgpu"));
 * ```
 */
export const lpPool2dBackwardWebgpu: Kernel<GpuStorage, LpPool2dAttrs> = defineKernel<
  GpuStorage,
  LpPool2dAttrs
>({
  op: "lpPool2dBackward",
  backend: "webgpu",
  run([x, y, dy], attrs, inShape, backend) {
    const count = sizeOf(inShape);
    return runKernel(backend as unknown as WebGpuBackend, {
      op: "lpPool2dBackward",
      code: BACKWARD,
      inputs: [x, y, dy],
      outputSize: count,
      params: lpParams(count, inShape, dy.shape, attrs),
    });
  },
});
