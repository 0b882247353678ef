/**
 * Options shared by every 2-D pooling op and layer: window size, stride and zero-free padding,
 * resolved once into the attributes the ops carry, and the output-size rule they all check.
 *
 * Padding semantics (one choice for every op): padded positions are never values. Max and min
 * pooling ignore them (as if −∞ / +∞), average and Lp pooling count only the valid positions of
 * each window. With padding 0 this is TensorFlow.js's `"valid"` pooling. Padding must be smaller
 * than the window, so every window holds at least one valid position.
 * @module
 */
import type { Shape } from "@cnnlab/core";

/** User-facing options of a 2-D pooling op or layer (JSON-serialisable). */
export interface Pool2dOptions {
  /** Window size: one number for a square window, or `[kh, kw]`. Required. */
  readonly poolSize: number | readonly [number, number];
  /** Step between windows: a number or `[sh, sw]`; defaults to `poolSize`. */
  readonly stride?: number | readonly [number, number];
  /** Rows/columns of padding on each side: a number or `[ph, pw]`; defaults to 0; must be below `poolSize`. */
  readonly padding?: number | readonly [number, number];
}

/** Resolved window attributes, as every pooling op carries them. */
export interface Pool2dAttrs {
  /** `[kh, kw]`. */
  readonly poolSize: readonly [number, number];
  /** `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** `[ph, pw]`. */
  readonly padding: readonly [number, number];
}

function pair(value: unknown, name: string, what: string, min: number): [number, number] {
  const v = typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= min)) {
    throw new RangeError(
      `Cannot create ${what}: option "${name}" must be an integer ≥ ${min} or a pair of them, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return [v[0], v[1]];
}

/**
 * Resolves pooling options into op attributes; every default is set here and only here:
 * `stride` defaults to `poolSize`, `padding` to 0.
 *
 * @param options The user's options.
 * @param what The layer or op name, for messages.
 * @returns `{ poolSize: [kh, kw], stride: [sh, sw], padding: [ph, pw] }`.
 * @throws {RangeError} If `poolSize` or `stride` is not a positive integer (or pair), or `padding` is
 *   negative, fractional or not below `poolSize`.
 * @example Defaults
 * ```ts
 * import { resolvePool2dOptions } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolvePool2dOptions({ poolSize: 2 }, "maxPool2d"), {
 *   poolSize: [2, 2], stride: [2, 2], padding: [0, 0],
 * });
 * ```
 */
export function resolvePool2dOptions(options: Pool2dOptions, what: string): Pool2dAttrs {
  if (!options || typeof options !== "object") {
    throw new RangeError(`Cannot create ${what}: options must be an object with "poolSize", got ${options}`);
  }
  const poolSize = pair(options.poolSize, "poolSize", what, 1);
  const stride = options.stride === undefined ? poolSize : pair(options.stride, "stride", what, 1);
  const padding = options.padding === undefined
    ? [0, 0] as [number, number]
    : pair(options.padding, "padding", what, 0);
  if (padding[0] >= poolSize[0] || padding[1] >= poolSize[1]) {
    throw new RangeError(
      `Cannot create ${what}: option "padding" [${padding}] must be below poolSize [${poolSize}] so every window holds an input value`,
    );
  }
  return { poolSize, stride, padding };
}

/**
 * Computes and checks a pooled shape: `o = floor((i + 2p − k)/s) + 1` per spatial axis. The
 * size is checked, not assumed: an input smaller than one window is an error.
 *
 * @param input `[batch, channels, height, width]`.
 * @param attrs Resolved window attributes.
 * @param what The layer or op name, for messages.
 * @returns `[batch, channels, outHeight, outWidth]`.
 * @throws {TypeError} If `input` is not rank 4 or a window does not fit in the padded input.
 * @example A LeNet-5 pooling step
 * ```ts
 * import { pool2dOutputShape, resolvePool2dOptions } from "@cnnlab/pooling";
 * import assert from "node:assert/strict";
 * const attrs = resolvePool2dOptions({ poolSize: 2 }, "maxPool2d");
 * assert.deepEqual(pool2dOutputShape([64, 6, 28, 28], attrs, "maxPool2d"), [64, 6, 14, 14]);
 * assert.throws(() => pool2dOutputShape([1, 1, 1, 1], attrs, "maxPool2d"), TypeError);
 * ```
 */
export function pool2dOutputShape(input: Shape, attrs: Pool2dAttrs, what: string): number[] {
  if (!Array.isArray(input) || input.length !== 4) {
    throw new TypeError(
      `Cannot apply ${what}: input must be [batch, channels, height, width], current shape is [${input}]`,
    );
  }
  const [n, c, h, w] = input;
  const [kh, kw] = attrs.poolSize, [sh, sw] = attrs.stride, [ph, pw] = attrs.padding;
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (!(h + 2 * ph >= kh && w + 2 * pw >= kw)) {
    throw new TypeError(
      `Cannot apply ${what} with poolSize [${attrs.poolSize}], stride [${attrs.stride}], padding [${attrs.padding}] to input [${input}]: ` +
        `the padded input ${h + 2 * ph}×${
          w + 2 * pw
        } is smaller than the window ${kh}×${kw}, so o = floor((i + 2p − k)/s) + 1 ` +
        `would be ${oh}×${ow}; use a larger input, more padding or a smaller poolSize`,
    );
  }
  return [n, c, oh, ow];
}
