/**
 * Option checks shared by the conv layers: each throws a `RangeError` naming the layer and the option.
 * Private to `@cnnlab/conv`.
 * @module
 */
import type { Pair } from "./_geometry.ts";

/** Rejects option keys the layer does not know (a typo would otherwise be silently ignored). */
export function checkKeys(layer: string, options: object, allowed: readonly string[]): void {
  if (!options || typeof options !== "object") {
    throw new RangeError(`Cannot create ${layer}: options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new RangeError(
        `Cannot create ${layer} with option "${key}": it is not one of ${allowed.join(", ")}`,
      );
    }
  }
}

/** An integer ≥ `min`. */
export function intOption(layer: string, key: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new RangeError(
      `Cannot create ${layer} with ${key} ${JSON.stringify(v)}: it must be an integer ≥ ${min}`,
    );
  }
  return v;
}

/** An integer ≥ `min`, or a pair of them. */
export function pairOption(layer: string, key: string, v: unknown, min: number): Pair {
  if (typeof v === "number") {
    const d = intOption(layer, key, v, min);
    return [d, d];
  }
  if (!Array.isArray(v) || v.length !== 2 || v.some((d) => !Number.isInteger(d) || d < min)) {
    throw new RangeError(
      `Cannot create ${layer} with ${key} ${
        JSON.stringify(v)
      }: it must be an integer ≥ ${min} or a pair of them`,
    );
  }
  return [v[0], v[1]];
}

/** The symmetric padding that keeps the size at stride 1: `d·(k − 1)/2` per axis. */
export function samePadding(layer: string, kernel: Pair, stride: Pair, dilation: Pair): Pair {
  if (stride[0] !== 1 || stride[1] !== 1) {
    throw new RangeError(
      `Cannot create ${layer} with padding "same" and stride [${stride}]: "same" needs stride 1`,
    );
  }
  const total = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
  if (total[0] % 2 !== 0 || total[1] % 2 !== 0) {
    throw new RangeError(
      `Cannot create ${layer} with padding "same", kernel [${kernel}] and dilation [${dilation}]: it would need asymmetric padding; use an odd kernelSize`,
    );
  }
  return [total[0] / 2, total[1] / 2];
}

/** A boolean. */
export function boolOption(layer: string, key: string, v: unknown): boolean {
  if (typeof v !== "boolean") {
    throw new RangeError(`Cannot create ${layer} with ${key} ${JSON.stringify(v)}: it must be true or false`);
  }
  return v;
}
