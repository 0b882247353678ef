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
 * tournament (left pair, right pair, then the two winners; the left wins ties) and skip the index
 * array: the forward pass reads its winner at once, the backward pass stores `dy` there (the windows
 * do not overlap), about 15–25% faster than going through `argExtremum`.
 * NaN inputs are unspecified.
 * @module
 */
import { defineKernel, type Kernel, type Shape, sizeOf } from "@cnnlab/core";
import type { Pool2dAttrs } from "./pool_options.ts";
import { type Windows, windowsOf } from "./_windows.ts";
import { allocate, allocateZeros, release } from "@cnnlab/backend-cpu/memory";
import { maxPoolGrad2x2Simd, maxPoolSimd, type PoolGeometry } from "@cnnlab/backend-cpu/simd";

/** Orderable int32 key of a float32's bits `b`, flipped for min pooling (`flip = −1`). */
function key(b: number, flip: number): number {
  return ((b ^ ((b >> 31) & 0x7fffffff)) - (b >> 31)) ^ flip;
}

/**
 * Flat index of the winner of the 2×2 window whose top-left input is `ia` (rows `w` apart): left
 * pair, right pair, then the two winners; the earlier position wins ties.
 */
function winner2x2(bits: Int32Array, ia: number, w: number, flip: number): number {
  const ic = ia + w;
  const a = key(bits[ia], flip), b = key(bits[ia + 1], flip);
  const c = key(bits[ic], flip), d = key(bits[ic + 1], flip);
  // s is −1 (all bits) when the right candidate wins, else 0.
  let s = -(+(a < b));
  const m0 = a ^ ((a ^ b) & s), k0 = ia - s;
  s = -(+(c < d));
  const m1 = c ^ ((c ^ d) & s), k1 = ic - s;
  s = -(+(m0 < m1));
  return k0 ^ ((k0 ^ k1) & s);
}

/**
 * Flat input index of each window's first maximum (`flip = 0`) or first minimum (`flip = −1`),
 * for windows of any size, stride and padding.
 */
function argExtremum(x: Float32Array, g: Windows, flip: number): Int32Array {
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  const { planes, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd } = g;
  const hw = h * w;
  const arg = new Int32Array(planes * oh * ow);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * hw;
    for (let i = 0; i < oh; i++) {
      const r0 = rowStart[i], r1 = rowEnd[i];
      for (let j = 0; j < ow; j++) {
        const c0 = colStart[j], c1 = colEnd[j];
        let k = base + r0 * w + c0, best = key(bits[k], flip);
        for (let r = r0; r < r1; r++) {
          const row = base + r * w;
          for (let c = c0; c < c1; c++) {
            const v = key(bits[row + c], flip);
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

/** Forward pass of 2×2/2 unpadded windows: each output read straight from its winner. */
function forward2x2(x: Float32Array, g: Windows, flip: number): Float32Array {
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  const { planes, h, w, oh, ow } = g;
  const y = allocate(planes * oh * ow);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < oh; i++) {
      const r0 = p * h * w + 2 * i * w;
      for (let j = 0; j < ow; j++) y[o++] = x[winner2x2(bits, r0 + 2 * j, w, flip)];
    }
  }
  return y;
}

/** Backward pass of 2×2/2 unpadded windows: windows do not overlap, so each `dy` is stored, not added. */
function backward2x2(x: Float32Array, g: Windows, flip: number, dy: Float32Array): Float32Array {
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  const { planes, h, w, oh, ow } = g;
  const dx = allocateZeros(x.length);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < oh; i++) {
      const r0 = p * h * w + 2 * i * w;
      for (let j = 0; j < ow; j++) dx[winner2x2(bits, r0 + 2 * j, w, flip)] = dy[o++];
    }
  }
  return dx;
}

/** The geometry `maxPoolSimd` takes, from the shapes alone (no window tables: it runs unpadded only). */
function simdGeometry(shape: Shape, attrs: Pool2dAttrs, outShape: Shape): PoolGeometry {
  const [n, c, h, w] = shape, [, , oh, ow] = outShape;
  const [kh, kw] = attrs.poolSize, [sh, sw] = attrs.stride;
  return { planes: n * c, h, w, oh, ow, kh, kw, sh, sw };
}

function forwardKernel(op: string, flip: number): Kernel<Float32Array, Pool2dAttrs> {
  return defineKernel<Float32Array, Pool2dAttrs>({
    op,
    backend: "cpu",
    run([input], attrs, outShape) {
      const x = input.storage;
      if (flip === 0 && attrs.padding[0] === 0 && attrs.padding[1] === 0) {
        const y = allocate(sizeOf(outShape));
        if (maxPoolSimd(x, y, simdGeometry(input.shape, attrs, outShape))) return y;
        release(y);
      }
      const g = windowsOf(input.shape, attrs, outShape);
      if (g.is2x2) return forward2x2(x, g, flip);
      const arg = argExtremum(x, g, flip);
      const y = allocate(arg.length);
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
      const g = windowsOf(input.shape, attrs, grad.shape);
      if (g.is2x2 && flip === 0) {
        const dx = allocate(input.storage.length);
        if (
          maxPoolGrad2x2Simd(input.storage, grad.storage, dx, simdGeometry(input.shape, attrs, grad.shape))
        ) {
          return dx;
        }
        release(dx);
      }
      if (g.is2x2) return backward2x2(input.storage, g, flip, grad.storage);
      const arg = argExtremum(input.storage, g, flip);
      const dy = grad.storage, dx = allocateZeros(input.storage.length);
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
