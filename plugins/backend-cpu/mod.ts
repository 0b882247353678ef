/**
 * `@cnnlab/backend-cpu`: the CPU backend (float32 arrays in this process) and its kernels for
 * every primitive op of `@cnnlab/core`. Layer plugins bring CPU kernels for their own ops and may
 * use `gemm` from `@cnnlab/backend-cpu/gemm`: WebAssembly SIMD on every core by default,
 * `setCpuKernels("ts")` for the plain TypeScript reference, `setCpuThreads(n)` for the thread count.
 *
 * @example Register and compute
 * ```ts
 * import { ops, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * assert.deepEqual([...ops.scale(device.tensor([1, 2], [2]), 3).dataSync()], [3, 6]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { CpuBackend } from "./backend.ts";
import { elementwiseKernels } from "./kernels/elementwise.ts";
import { reduceKernels } from "./kernels/reduce.ts";
import { layoutKernels } from "./kernels/layout.ts";
import { type CpuKernels, setCpuKernels, setCpuThreads } from "./gemm.ts";

export { CpuBackend } from "./backend.ts";
export {
  type CpuGemmSettings,
  cpuGemmSettings,
  type CpuKernelOptions,
  type CpuKernels,
  gemm,
  type GemmOptions,
  gemmTs,
  setCpuKernels,
  setCpuThreads,
} from "./gemm.ts";

/**
 * Starts the CPU backend with its options: `threads` (a positive integer, default the core count)
 * and `kernels` (`"wasm"`, the default where WebAssembly SIMD validates, or `"ts"`, the plain
 * TypeScript reference path).
 */
function startCpu(options: Readonly<Record<string, unknown>> = {}): CpuBackend {
  for (const key of Object.keys(options)) {
    if (key !== "threads" && key !== "kernels") {
      throw new RangeError(
        `Cannot start the cpu backend: unknown option "${key}" (it has "threads" and "kernels")`,
      );
    }
  }
  if (options.threads !== undefined) setCpuThreads(Number(options.threads));
  if (options.kernels !== undefined) setCpuKernels(options.kernels as CpuKernels);
  return new CpuBackend();
}

/** The CPU backend plugin. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/backend-cpu",
  version: "0.1.0",
  provides: { backends: { cpu: startCpu } },
  kernels: [...elementwiseKernels, ...reduceKernels, ...layoutKernels],
});
export default plugin;
