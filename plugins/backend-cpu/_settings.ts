/**
 * What the CPU kernels run: `"wasm"` or `"ts"`, relaxed SIMD, and the thread count; set through
 * `setCpuKernels` and `setCpuThreads` in `gemm.ts`, read by `gemm.ts` and `im2col.ts`. Private.
 * @module
 */
import { supportsKernel } from "./_gemm_kernel.ts";

/** Whether this runtime validates 128-bit WebAssembly SIMD, and relaxed SIMD. */
export const simd: boolean = supportsKernel(false);
/** Whether this runtime validates relaxed SIMD's fused multiply-add. */
export const relaxedSimd: boolean = simd && supportsKernel(true);

/** The current settings, shared by every CPU kernel of this thread. */
export const settings: { kernels: "ts" | "wasm"; relaxed: boolean; threads: number } = {
  kernels: simd ? "wasm" : "ts",
  relaxed: relaxedSimd,
  threads: Math.max(1, Math.floor(globalThis.navigator?.hardwareConcurrency ?? 1)),
};
