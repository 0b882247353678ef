/**
 * Plain window loops for the reference kernels (the specification the CPU kernels are tested
 * against). Clarity over speed: every window is gathered into an array of valid positions.
 * @module
 */
import type { Shape } from "@cnnlab/core";
import { type Pool2dAttrs, pool2dOutputShape } from "./pool_options.ts";

/** Calls `visit` for each output position with the flat input indices of its valid window positions, row-major. */
function forEachWindow(
  shape: Shape,
  attrs: Pool2dAttrs,
  outShape: Shape,
  visit: (out: number, window: number[]) => void,
): void {
  const [n, c, h, w] = shape;
  const [, , oh, ow] = outShape;
  const [kh, kw] = attrs.poolSize, [sh, sw] = attrs.stride, [ph, pw] = attrs.padding;
  let out = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const window: number[] = [];
        for (let di = 0; di < kh; di++) {
          for (let dj = 0; dj < kw; dj++) {
            const r = i * sh - ph + di, col = j * sw - pw + dj;
            if (r >= 0 && r < h && col >= 0 && col < w) window.push((plane * h + r) * w + col);
          }
        }
        visit(out++, window);
      }
    }
  }
}

/**
 * Pools each window's valid values with `reduce`.
 *
 * @returns The pooled values of `outShape`.
 */
export function referencePool(
  x: Float32Array,
  shape: Shape,
  attrs: Pool2dAttrs,
  outShape: Shape,
  reduce: (values: number[]) => number,
): Float32Array {
  const y = new Float32Array(outShape.reduce((p, d) => p * d, 1));
  forEachWindow(shape, attrs, outShape, (o, window) => {
    y[o] = reduce(window.map((i) => x[i]));
  });
  return y;
}

/**
 * Scatters each output's gradient back over its window: `dWindow(values, out)` returns the
 * contribution to each valid window position, which are summed into `dx` (windows may overlap).
 *
 * @returns `dx` of `shape`.
 */
export function referencePoolBackward(
  x: Float32Array,
  shape: Shape,
  attrs: Pool2dAttrs,
  outShape: Shape,
  dWindow: (values: number[], out: number) => number[],
): Float32Array {
  const dx = new Float32Array(shape.reduce((p, d) => p * d, 1));
  const acc = new Float64Array(dx.length);
  forEachWindow(shape, attrs, outShape, (o, window) => {
    const d = dWindow(window.map((i) => x[i]), o);
    window.forEach((i, k) => (acc[i] += d[k]));
  });
  dx.set(acc);
  return dx;
}

/**
 * Output shape of a backward op: the forward input shape, after checking that `dy` has the
 * forward output's shape.
 *
 * @returns `inShape`.
 * @throws {TypeError} If `dy` does not match.
 */
export function backwardShape(inShape: Shape, dyShape: Shape, attrs: Pool2dAttrs, op: string): Shape {
  const forward = op.replace(/Backward$/, "");
  const want = pool2dOutputShape(inShape, attrs, forward);
  if (dyShape.length !== 4 || want.some((d, i) => d !== dyShape[i])) {
    throw new TypeError(
      `Cannot run ${op}: dy has shape [${dyShape}] but ${forward} of [${inShape}] gives [${want}]`,
    );
  }
  return inShape;
}
