/**
 * The Backend contract: storage plus a kernel table filled by plugins.
 * @module
 */
import type { Shape } from "./shape.ts";

/**
 * Where tensors live. A backend owns storage; kernels (registered per op by plugins) compute on it.
 *
 * @typeParam S The storage handle (a `Float32Array` on the CPU, a `GPUBuffer` on WebGPU).
 */
export interface Backend<S = unknown> {
  /** Registry key, also used in `--backend NAME`. */
  readonly name: string;
  /** Allocates zero-filled storage for `size` float32 values. */
  create(size: number): S;
  /** Allocates storage holding a copy of `values`. */
  upload(values: Float32Array): S;
  /** Reads `size` values back to the host. */
  read(storage: S, size: number): Promise<Float32Array>;
  /** Reads synchronously; present only on backends that can. */
  readSync?(storage: S, size: number): Float32Array;
  /** Releases storage; the handle must not be used afterwards. */
  free(storage: S): void;
  /** Human-readable description (adapter, threads) for reports and `summary.json`. */
  describe?(): Record<string, unknown>;
}

/**
 * Creates a backend; asynchronous where the device must be requested (WebGPU). `options` are the
 * backend's own settings (the CPU backend's `threads` and `kernels`, for example), from
 * `registry.device(name, options)` or the CLI's flags; a backend rejects ones it does not know.
 */
export type BackendFactory = (options?: Readonly<Record<string, unknown>>) => Backend | Promise<Backend>;

/** One input of a kernel call: the storage and its shape. */
export interface KernelInput<S = unknown> {
  readonly storage: S;
  readonly shape: Shape;
}

/**
 * An implementation of one op on one backend.
 *
 * @typeParam S Storage type of the backend.
 * @typeParam A The op's attributes.
 */
export interface Kernel<S = unknown, A = never> {
  /** The op this kernel implements. */
  readonly op: string;
  /** The backend it runs on. */
  readonly backend: string;
  /** Computes the output; returns fresh storage of `sizeOf(outShape)` values. */
  run(inputs: readonly KernelInput<S>[], attrs: A, outShape: Shape, backend: Backend<S>): S;
}

/**
 * Declares a kernel with its types checked.
 *
 * @param kernel The kernel.
 * @returns The same kernel.
 * @example A CPU kernel for a hypothetical "double" op
 * ```ts
 * import { defineKernel } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const k = defineKernel<Float32Array, Record<string, never>>({
 *   op: "double", backend: "cpu",
 *   run: ([x]) => x.storage.map((v) => 2 * v),
 * });
 * assert.equal(k.op, "double");
 * ```
 */
export function defineKernel<S, A>(kernel: Kernel<S, A>): Kernel<S, A> {
  return kernel;
}
