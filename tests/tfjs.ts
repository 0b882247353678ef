/**
 * TensorFlow.js as a test-only oracle: the CPU backend, loaded once, without its Node.js banner.
 * Tests import `tf` from here; nothing outside tests/ and `*_test.ts` files may import TensorFlow.js.
 * @module
 */
import * as tfjs from "@tensorflow/tfjs";

const warn = console.warn;
console.warn = () => {};
await tfjs.setBackend("cpu");
await tfjs.ready();
// The CPU backend prints its Node.js banner on its first write: make that write here, silenced.
tfjs.tensor([0]).dispose();
console.warn = warn;

/** The TensorFlow.js namespace, with its CPU backend ready. */
export const tf: typeof tfjs = tfjs;

/**
 * Converts NCHW values to NHWC (TensorFlow.js's layout).
 *
 * @param x Values.
 * @param shape `[n, c, h, w]`.
 * @returns `[n, h, w, c]` values.
 */
export function nchwToNhwc(x: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h * w; i++) y[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
    }
  }
  return y;
}

/**
 * Converts NHWC values to NCHW.
 *
 * @param x Values.
 * @param shape `[n, h, w, c]`.
 * @returns `[n, c, h, w]` values.
 */
export function nhwcToNchw(x: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h * w; i++) y[(b * c + ch) * h * w + i] = x[(b * h * w + i) * c + ch];
    }
  }
  return y;
}
