/**
 * Small images for reports: values scaled to bytes and base64-encoded, drawn on a `<canvas>` by the
 * page (a 28×28 digit costs about 1 KB, where SVG would need 784 rectangles).
 * @module
 */

/** How a picture's bytes map to colours in the page. */
export type Colormap = "gray" | "signed" | "heat";

/** One grayscale picture, `width × height` bytes, base64. */
export interface Picture {
  readonly width: number;
  readonly height: number;
  /** Row-major bytes 0…255, base64-encoded. */
  readonly pixels: string;
  /** `gray`: 0 black … 255 white; `signed`: 128 is zero, blue below, red above; `heat`: 0 cold … 255 hot. */
  readonly colormap: Colormap;
}

/** Options of `picture`. */
export interface PictureOptions {
  /** Colour mapping; default `"gray"`. */
  readonly colormap?: Colormap;
  /**
   * Value range mapped to 0…255. Default: the values' own min…max; for `signed`, ±max |value|
   * so zero stays at 128.
   */
  readonly range?: readonly [number, number];
}

/**
 * Turns `height × width` values (row-major) into a picture, scaling them to bytes.
 *
 * @param values The values; NaN becomes 0.
 * @param shape `[height, width]`.
 * @param options Colormap and value range.
 * @returns The picture.
 * @throws {TypeError} If `values` holds fewer than `height × width` numbers.
 * @example A 1×3 ramp
 * ```ts
 * import { picture } from "@cnnlab/reports/insights";
 * import assert from "node:assert/strict";
 * const p = picture(new Float32Array([0, 0.5, 1]), [1, 3]);
 * assert.equal(p.pixels, btoa(String.fromCharCode(0, 128, 255)));
 * ```
 */
export function picture(
  values: ArrayLike<number>,
  shape: readonly [number, number],
  options: PictureOptions = {},
): Picture {
  const [height, width] = shape;
  const n = height * width;
  if (values.length < n) {
    throw new TypeError(`Cannot make a ${height}×${width} picture: only ${values.length} values given`);
  }
  const colormap = options.colormap ?? "gray";
  let [lo, hi] = options.range ?? [Infinity, -Infinity];
  if (!options.range) {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (colormap === "signed") {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      [lo, hi] = [-m, m];
    }
  }
  const span = hi > lo ? hi - lo : 1;
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number.isNaN(values[i]) ? 0 : (values[i] - lo) / span;
    bytes[i] = Math.round(255 * Math.min(1, Math.max(0, v)));
  }
  return { width, height, pixels: toBase64(bytes), colormap };
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
