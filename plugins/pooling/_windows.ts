/**
 * Window geometry for the CPU kernels, computed once per call: for each output row and column
 * the clipped range of input rows and columns it covers, so the inner loops do no bounds tests.
 * @module
 */
import type { Shape } from "@cnnlab/core";
import type { Pool2dAttrs } from "./pool_options.ts";

/** Precomputed offsets of every window of one pooling call. */
export interface Windows {
  /** `batch × channels`: the number of independent planes. */
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  /** First input row of output row `i` (clipped to the input). */
  readonly rowStart: Int32Array;
  /** One past the last input row of output row `i` (clipped). */
  readonly rowEnd: Int32Array;
  /** First input column of output column `j` (clipped). */
  readonly colStart: Int32Array;
  /** One past the last input column of output column `j` (clipped). */
  readonly colEnd: Int32Array;
  /** 2×2 windows, stride 2, no padding: the LeNet case, with unrolled kernels. */
  readonly is2x2: boolean;
}

function ranges(size: number, out: number, k: number, s: number, p: number): [Int32Array, Int32Array] {
  const start = new Int32Array(out), end = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const a = o * s - p;
    start[o] = Math.max(a, 0);
    end[o] = Math.min(a + k, size);
  }
  return [start, end];
}

/**
 * Computes the window ranges of a pooling call.
 *
 * @returns The geometry.
 */
export function windowsOf(shape: Shape, attrs: Pool2dAttrs, outShape: Shape): Windows {
  const [n, c, h, w] = shape;
  const [, , oh, ow] = outShape;
  const [kh, kw] = attrs.poolSize, [sh, sw] = attrs.stride, [ph, pw] = attrs.padding;
  const [rowStart, rowEnd] = ranges(h, oh, kh, sh, ph);
  const [colStart, colEnd] = ranges(w, ow, kw, sw, pw);
  const is2x2 = kh === 2 && kw === 2 && sh === 2 && sw === 2 && ph === 0 && pw === 0;
  return { planes: n * c, h, w, oh, ow, rowStart, rowEnd, colStart, colEnd, is2x2 };
}
