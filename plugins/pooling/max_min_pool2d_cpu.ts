/**
 * CPU kernels for max and min pooling, forward and backward.
 *
 * Both passes first find each window's winning position (`argExtremum`), then the forward pass
 * reads `x` there and the backward pass adds `dy` there: one window scan per output, never a scan
 * of the whole tensor. Ties go to the first position in row-major window order.
 *
 * The scan compares integer keys instead of floats, without branches: a float32's bits `b` map to
 * `(b ^ ((b >> 31) & 0x7fffffff)) − (b >> 31)`, an int32 that orders like the float (−0 and +0 get
 * the same key), and min pooling flips every key (`~key`) so one max loop serves both. Selecting
 * with masks instead of `if` avoids branch mispredictions on random data, which made the obvious
 * loop 3× slower on 2×2 windows. 2×2/2 windows without padding (the LeNet case) are unrolled as a
 * tournament (left pair, right pair, then the two winners; the left wins ties).
 * NaN inputs are unspecified.
 * @module
 */
import { defineKernel, type Kernel } from "@cnnlab/core";
import type { Pool2dAttrs } from "./pool_options.ts";
import { type Windows, windowsOf } from "./_windows.ts";

/**
 * Flat input index of each window's first maximum (`flip = 0`) or first minimum (`flip = −1`).
 */
function argExtremum(x: Float32Array, g: Windows, flip: number): Int32Array {
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  const { planes, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd } = g;
  const hw = h * w;
  const arg = new Int32Array(planes * oh * ow);
  let o = 0;
  if (g.is2x2) {
    for (let p = 0; p < planes; p++) {
      for (let i = 0; i < oh; i++) {
        const r0 = p * hw + 2 * i * w, r1 = r0 + w;
        for (let j = 0; j < ow; j++) {
          const ia = r0 + 2 * j, ic = r1 + 2 * j;
          let a = bits[ia], b = bits[ia + 1], c = bits[ic], d = bits[ic + 1];
          a = ((a ^ ((a >> 31) & 0x7fffffff)) - (a >> 31)) ^ flip;
          b = ((b ^ ((b >> 31) & 0x7fffffff)) - (b >> 31)) ^ flip;
          c = ((c ^ ((c >> 31) & 0x7fffffff)) - (c >> 31)) ^ flip;
          d = ((d ^ ((d >> 31) & 0x7fffffff)) - (d >> 31)) ^ flip;
          // s is −1 (all bits) when the right candidate wins, else 0.
          let s = -(+(a < b));
          const m0 = a ^ ((a ^ b) & s), k0 = ia - s;
          s = -(+(c < d));
          const m1 = c ^ ((c ^ d) & s), k1 = ic - s;
          s = -(+(m0 < m1));
          arg[o++] = k0 ^ ((k0 ^ k1) & s);
        }
      }
    }
    return arg;
  }
  for (let p = 0; p < planes; p++) {
    const base = p * hw;
    for (let i = 0; i < oh; i++) {
      const r0 = rowStart[i], r1 = rowEnd[i];
      for (let j = 0; j < ow; j++) {
        const c0 = colStart[j], c1 = colEnd[j];
        let k = base + r0 * w + c0, best = bits[k];
        best = ((best ^ ((best >> 31) & 0x7fffffff)) - (best >> 31)) ^ flip;
        for (let r = r0; r < r1; r++) {
          const row = base + r * w;
          for (let c = c0; c < c1; c++) {
            let v = bits[row + c];
            v = ((v ^ ((v >> 31) & 0x7fffffff)) - (v >> 31)) ^ flip;
            const s = -(+(best < v));
            best ^= (best ^ v) & s;
            k ^= (k ^ (row + c)) & s;
          }
        }
        arg[o++] = k;
      }
    }
  }
  return arg;
}

function forwardKernel(op: string, flip: number): Kernel<Float32Array, Pool2dAttrs> {
  return defineKernel<Float32Array, Pool2dAttrs>({
    op,
    backend: "cpu",
    run([input], attrs, outShape) {
      const x = input.storage;
      const arg = argExtremum(x, windowsOf(input.shape, attrs, outShape), flip);
      const y = new Float32Array(arg.length);
      for (let o = 0; o < arg.length; o++) y[o] = x[arg[o]];
      return y;
    },
  });
}

function backwardKernel(op: string, flip: number): Kernel<Float32Array, Pool2dAttrs> {
  return defineKernel<Float32Array, Pool2dAttrs>({
    op,
    backend: "cpu",
    run([input, grad], attrs) {
      const arg = argExtremum(input.storage, windowsOf(input.shape, attrs, grad.shape), flip);
      const dy = grad.storage, dx = new Float32Array(input.storage.length);
      for (let o = 0; o < arg.length; o++) dx[arg[o]] += dy[o];
      return dx;
    },
  });
}

/** CPU kernel of `maxPool2d`. */
export const maxPool2dCpu: Kernel<Float32Array, Pool2dAttrs> = forwardKernel("maxPool2d", 0);
/** CPU kernel of `maxPool2dBackward`: `dy` goes to each window's first argmax. */
export const maxPool2dBackwardCpu: Kernel<Float32Array, Pool2dAttrs> = backwardKernel("maxPool2dBackward", 0);
/** CPU kernel of `minPool2d`. */
export const minPool2dCpu: Kernel<Float32Array, Pool2dAttrs> = forwardKernel("minPool2d", -1);
/** CPU kernel of `minPool2dBackward`: `dy` goes to each window's first argmin. */
export const minPool2dBackwardCpu: Kernel<Float32Array, Pool2dAttrs> = backwardKernel(
  "minPool2dBackward",
  -1,
);
