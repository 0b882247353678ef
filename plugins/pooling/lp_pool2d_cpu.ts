/**
 * CPU kernels for Lp pooling, forward and backward.
 *
 * Numerical stability: for p > 6 each window is scaled by its largest `|x|` before powering, so
 * `y = m · (Σ (|x|/m)^p / n)^(1/p)` (n = 1 for the sum form, the valid count for the mean form)
 * neither overflows nor underflows for large p (p = 64 on values near 1e±6 stays finite); up to
 * p = 6 the float64 sum of float32 powers cannot leave range, and the extra pass is skipped. The
 * gradient is computed as `dy · (|x|/y)^(p−1) · sign(x) / n`, the same as
 * `dy · y^(1−p) · |x|^(p−1) · sign(x) / n` without forming either power; a window whose output is 0
 * (all zeros) gets gradient 0. p = 1 and p = 2 skip `Math.pow`; other integer p use
 * exponentiation by squaring, about 3× faster than `Math.pow` (and equal to it within rounding).
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import type { LpPool2dAttrs } from "./lp_pool2d.ts";
import { windowsOf } from "./_windows.ts";
import { allocate, allocateZeros } from "@cnnlab/backend-cpu/memory";

/**
 * Largest p computed without scaling: the kernel sums in float64, where `|x|^p` of any normal
 * float32 (1.2e-38 ≤ |x| ≤ 3.4e38) neither overflows nor underflows for p ≤ 7.9.
 */
const UNSCALED_MAX_P = 6;

/** `v^e` for a non-negative integer `e`, by squaring. */
function powInt(v: number, e: number): number {
  let r = 1;
  while (e > 0) {
    if (e & 1) r *= v;
    v *= v;
    e >>= 1;
  }
  return r;
}

/** CPU kernel of `lpPool2d`. */
export const lpPool2dCpu: Kernel<Float32Array, LpPool2dAttrs> = defineKernel<Float32Array, LpPool2dAttrs>({
  op: "lpPool2d",
  backend: "cpu",
  run([input], attrs, outShape) {
    const { planes, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd } = windowsOf(
      input.shape,
      attrs,
      outShape,
    );
    const x = input.storage, hw = h * w, p = attrs.p, invP = 1 / p, mean = attrs.mean;
    const intP = Number.isInteger(p);
    const y = allocate(planes * oh * ow);
    let o = 0;
    for (let b = 0; b < planes; b++) {
      const base = b * hw;
      for (let i = 0; i < oh; i++) {
        const r0 = rowStart[i], r1 = rowEnd[i];
        for (let j = 0; j < ow; j++, o++) {
          const c0 = colStart[j], c1 = colEnd[j];
          const n = mean ? (r1 - r0) * (c1 - c0) : 1;
          let s = 0;
          if (p === 1) {
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) s += Math.abs(x[row + c]);
            }
            y[o] = s / n;
            continue;
          }
          // Scale by the window's largest |x| only where |x|^p could leave float64's range.
          let m = 1;
          if (p > UNSCALED_MAX_P) {
            m = 0;
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) {
                const v = Math.abs(x[row + c]);
                if (v > m) m = v;
              }
            }
            if (m === 0) continue; // y = 0 already
          }
          const inv = 1 / m;
          if (p === 2) {
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) {
                const v = x[row + c] * inv;
                s += v * v;
              }
            }
            y[o] = m * Math.sqrt(s / n);
          } else {
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) {
                const v = Math.abs(x[row + c]) * inv;
                s += intP ? powInt(v, p) : Math.pow(v, p);
              }
            }
            y[o] = m * Math.pow(s / n, invP);
          }
        }
      }
    }
    return y;
  },
});

/** CPU kernel of `lpPool2dBackward` (inputs `x`, `y`, `dy`). */
export const lpPool2dBackwardCpu: Kernel<Float32Array, LpPool2dAttrs> = defineKernel<
  Float32Array,
  LpPool2dAttrs
>({
  op: "lpPool2dBackward",
  backend: "cpu",
  run([input, output, grad], attrs) {
    const { planes, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd } = windowsOf(
      input.shape,
      attrs,
      grad.shape,
    );
    const x = input.storage, y = output.storage, dy = grad.storage;
    const hw = h * w, p = attrs.p, pm1 = p - 1, mean = attrs.mean, intP = Number.isInteger(p);
    const dx = allocateZeros(planes * hw);
    let o = 0;
    for (let b = 0; b < planes; b++) {
      const base = b * hw;
      for (let i = 0; i < oh; i++) {
        const r0 = rowStart[i], r1 = rowEnd[i];
        for (let j = 0; j < ow; j++, o++) {
          const yo = y[o];
          if (yo === 0) continue; // an all-zero window: gradient 0, not NaN
          const c0 = colStart[j], c1 = colEnd[j];
          const d = mean ? dy[o] / ((r1 - r0) * (c1 - c0)) : dy[o];
          if (p === 1) {
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) {
                const v = x[row + c];
                dx[row + c] += v > 0 ? d : v < 0 ? -d : 0;
              }
            }
          } else if (p === 2) {
            const k = d / yo;
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) dx[row + c] += k * x[row + c];
            }
          } else {
            const inv = 1 / yo;
            for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let c = c0; c < c1; c++) {
                const v = x[row + c];
                const a = Math.abs(v) * inv;
                const g = d * (intP ? powInt(a, pm1) : Math.pow(a, pm1));
                dx[row + c] += v > 0 ? g : v < 0 ? -g : 0;
              }
            }
          }
        }
      }
    }
    return dx;
  },
});
