/**
 * Test-only helpers for this package's WebGPU tests (named `*_test.ts` so it is test code and is
 * not published; it holds no tests): the WebGPU device with this plugin, the window cases every
 * op is checked on, and a host read of a tensor-valued computation. No pooling logic lives here.
 * @module
 */
import { type Device, Rng, type Shape, type Tensor, tidy } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import pooling, { type Pool2dOptions } from "./mod.ts";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";

let gpuDevice: Promise<Device> | undefined;

/** The WebGPU device with the CPU backend and this plugin registered (created once). */
export function gpu(): Promise<Device> {
  gpuDevice ??= webgpuDevice([cpu, pooling]);
  return gpuDevice;
}

/** Options of every WebGPU test: skipped without an adapter (except in CI); GPU resources outlive a test. */
export const gpuTestOptions: { ignore: boolean; sanitizeResources: false; sanitizeOps: false } = {
  ...gpuTest,
  sanitizeResources: false,
  sanitizeOps: false,
};

/** The window cases: input shape, options and a label. */
export const cases: readonly { shape: Shape; options: Pool2dOptions; label: string }[] = [
  { shape: [2, 3, 8, 8], options: { poolSize: 2 }, label: "2×2/2" },
  { shape: [2, 3, 9, 7], options: { poolSize: 3, stride: 2, padding: 1 }, label: "3×3/2 padding 1" },
  { shape: [2, 2, 7, 6], options: { poolSize: 3, stride: 1 }, label: "3×3/1" },
  {
    shape: [2, 2, 9, 8],
    options: { poolSize: [2, 3], stride: [1, 2], padding: [1, 0] },
    label: "2×3/(1,2) padding (1,0)",
  },
  {
    shape: [1, 2, 7, 9],
    options: { poolSize: [3, 1], stride: [2, 3] },
    label: "3×1/(2,3), gaps between windows",
  },
  { shape: [8, 6, 28, 28], options: { poolSize: 2 }, label: "LeNet-5 C1 batch 8" },
  { shape: [8, 16, 10, 10], options: { poolSize: 2 }, label: "LeNet-5 C3 batch 8" },
];

/** Element count. */
export const size = (shape: Shape): number => shape.reduce((p, d) => p * d, 1);

/** Uniform values in [lo, hi). */
export function uniformArg(rng: Rng, shape: Shape, lo = -1, hi = 1): { values: Float32Array; shape: Shape } {
  return { values: Float32Array.from({ length: size(shape) }, () => lo + (hi - lo) * rng.next()), shape };
}

/**
 * Values in {−1, −0, 0, 1}: most windows tie, so the first position must win.
 */
export function tied(rng: Rng, shape: Shape): { values: Float32Array; shape: Shape } {
  return { values: Float32Array.from({ length: size(shape) }, () => [-1, -0, 0, 1][rng.int(4)]), shape };
}

/** Runs `f` in a scope on `device` and reads its result (the result is freed after reading). */
export async function read(f: () => Tensor): Promise<Float32Array> {
  const y = tidy(f);
  const values = await y.data();
  y.dispose();
  return values;
}

export { Rng };
