/**
 * Single-precision matrix multiply, the workhorse of dense and convolution kernels, and its
 * settings: which kernels (`"wasm"`: WebAssembly SIMD on every core, the default where the runtime
 * validates it; `"ts"`: the plain TypeScript reference) and how many threads.
 *
 * The WebAssembly path packs op(A) and op(B) into panels (resolving transposes and padding edges),
 * runs a register-blocked micro-kernel over cache-sized blocks (relaxed SIMD's fused multiply-add
 * where available, plain 128-bit SIMD otherwise) and splits C among the calling thread and worker
 * threads over shared memory; the call stays synchronous. Products below a few thousand
 * multiply-adds take the TypeScript path, whose call costs less.
 * @module
 */
import { gemmWasm, type WasmGemmSettings, workersStarted } from "./_gemm_wasm.ts";
import { relaxedSimd, settings, simd } from "./_settings.ts";
import { gemmTs } from "./gemm_ts.ts";

export { gemmTs } from "./gemm_ts.ts";

/** Options of `gemm`. */
export interface GemmOptions {
  /** A is stored `[k, m]` (use Aᵀ). */
  readonly transposeA?: boolean;
  /** B is stored `[n, k]` (use Bᵀ). */
  readonly transposeB?: boolean;
  /** Add to C instead of overwriting it. */
  readonly accumulate?: boolean;
  /** Element offsets into a, b and c (default 0). */
  readonly offsetA?: number;
  readonly offsetB?: number;
  readonly offsetC?: number;
}

/** Which GEMM kernels `gemm` runs. */
export type CpuKernels = "ts" | "wasm";

/** Options of `setCpuKernels`. */
export interface CpuKernelOptions {
  /** Use relaxed SIMD's fused multiply-add where the runtime validates it (default true). */
  readonly relaxedSimd?: boolean;
}

/** What `gemm` currently runs, from `cpuGemmSettings`. */
export interface CpuGemmSettings {
  /** `"wasm"` or `"ts"`. */
  readonly kernels: CpuKernels;
  /** Whether the WebAssembly kernel uses `f32x4.relaxed_madd` (false on the TypeScript path). */
  readonly relaxedSimd: boolean;
  /** Most threads one call uses, the calling thread included. */
  readonly threads: number;
  /** Worker threads started so far. */
  readonly workers: number;
  /** Products of at least this many multiply-adds are split among threads. */
  readonly threadedMinMacs: number;
}

/**
 * Below this many multiply-adds (m·n·k) the TypeScript kernel is faster than copying into WebAssembly
 * memory (measured on a 2-core x86-64: even at 12³, WebAssembly ahead from 16³).
 */
const WASM_MIN_MACS = 2048;
/**
 * Below this many multiply-adds a call runs on the calling thread alone: waking a worker costs about
 * 10 µs, and a product of 64 × 128 × 64 gained nothing from a second thread, one of 64 × 128 × 128
 * about 1.6×.
 */
const THREADED_MIN_MACS = 1 << 20;

/**
 * Chooses the kernels `gemm` runs from now on, for every caller in this thread.
 *
 * @param kind `"wasm"` (the default where WebAssembly SIMD validates) or `"ts"` (the plain
 * TypeScript reference, e.g. for `--backend cpu-ts`).
 * @param options `relaxedSimd: false` forces the plain-SIMD kernel even where relaxed SIMD exists.
 * @returns The settings before the change, to restore them later.
 * @throws {RangeError} If `kind` is neither `"ts"` nor `"wasm"`, or `"wasm"` is asked for where
 * this runtime does not validate 128-bit WebAssembly SIMD.
 * @example Run the reference kernel, then restore
 * ```ts
 * import { cpuGemmSettings, gemm, setCpuKernels } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * const before = setCpuKernels("ts");
 * assert.equal(cpuGemmSettings().kernels, "ts");
 * const c = new Float32Array(1);
 * gemm(1, 1, 2, new Float32Array([1, 2]), new Float32Array([3, 4]), c);
 * assert.deepEqual([...c], [11]);
 * setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
 * ```
 */
export function setCpuKernels(kind: CpuKernels, options: CpuKernelOptions = {}): CpuGemmSettings {
  if (kind !== "ts" && kind !== "wasm") {
    throw new RangeError(`Cannot set the CPU kernels to "${kind}": use "wasm" or "ts"`);
  }
  if (kind === "wasm" && !simd) {
    throw new RangeError(
      `Cannot set the CPU kernels to "wasm": this runtime does not validate WebAssembly SIMD; use "ts"`,
    );
  }
  const before = cpuGemmSettings();
  settings.kernels = kind;
  settings.relaxed = relaxedSimd && (options.relaxedSimd ?? true);
  return before;
}

/**
 * Sets how many threads one `gemm` call may use, the calling thread included. Workers start on the
 * first call that wants them and never keep a finished process alive.
 *
 * @param count A positive integer; the default is `navigator.hardwareConcurrency`.
 * @returns The previous count.
 * @throws {RangeError} If `count` is not a positive integer.
 * @example One thread, then back
 * ```ts
 * import { cpuGemmSettings, setCpuThreads } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * const before = setCpuThreads(1);
 * assert.equal(cpuGemmSettings().threads, 1);
 * setCpuThreads(before);
 * ```
 */
export function setCpuThreads(count: number): number {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Cannot set the CPU threads to ${count}: it must be a positive integer`);
  }
  const before = settings.threads;
  settings.threads = count;
  return before;
}

/**
 * Describes what `gemm` runs now.
 *
 * @returns Kernels, relaxed SIMD, thread count, workers started, and the threading threshold.
 * @throws Never.
 * @example The default uses every core
 * ```ts
 * import { cpuGemmSettings } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * assert.ok(cpuGemmSettings().threads >= 1);
 * ```
 */
export function cpuGemmSettings(): CpuGemmSettings {
  return {
    kernels: settings.kernels,
    relaxedSimd: settings.kernels === "wasm" && settings.relaxed,
    threads: settings.threads,
    workers: workersStarted(),
    threadedMinMacs: THREADED_MIN_MACS,
  };
}

function checkSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Cannot multiply matrices: ${name} is ${value}; it must be a non-negative integer`);
  }
}

/** Checks that `array` holds a `[rows, cols]` matrix from `offset`. */
function checkOperand(name: string, array: Float32Array, offset: number, rows: number, cols: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + rows * cols > array.length) {
    throw new RangeError(
      `Cannot multiply matrices: ${name} holds ${array.length} values, too few for [${rows}, ${cols}] from offset ${offset}`,
    );
  }
}

/** The settings of the current WebAssembly call, reused so that a call allocates nothing. */
const call: { -readonly [K in keyof WasmGemmSettings]: WasmGemmSettings[K] } = {
  relaxed: false,
  threads: 1,
  transposeA: false,
  transposeB: false,
  accumulate: false,
  offsetA: 0,
  offsetB: 0,
  offsetC: 0,
};

/**
 * Computes `C = op(A) · op(B)` (or `C += …`) for row-major float32 matrices, C being `[m, n]`, with
 * the kernels chosen by `setCpuKernels` on up to `setCpuThreads` threads. Synchronous. Operands that
 * are `gemmWorkspace` arrays (from `@cnnlab/backend-cpu/im2col`) are used in place, not copied; C
 * must not overlap A or B.
 *
 * @param m Rows of C.
 * @param n Columns of C.
 * @param k Inner dimension.
 * @param a A's values: `[m, k]`, or `[k, m]` with `transposeA`.
 * @param b B's values: `[k, n]`, or `[n, k]` with `transposeB`.
 * @param c C's values `[m, n]`, written in place.
 * @param options Transposes, accumulation and offsets.
 * @returns Nothing; C is written in place.
 * @throws {RangeError} If `m`, `n` or `k` is not a non-negative integer, or an array is too short
 * for its matrix at its offset.
 * @throws {Error} If a worker thread failed (a bug; `setCpuThreads(1)` avoids workers).
 * @example 2×2 times 2×2
 * ```ts
 * import { gemm } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * const c = new Float32Array(4);
 * gemm(2, 2, 2, new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), c);
 * assert.deepEqual([...c], [19, 22, 43, 50]);
 * ```
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  options: GemmOptions = {},
): void {
  checkSize("m", m);
  checkSize("n", n);
  checkSize("k", k);
  const transposeA = options.transposeA ?? false, transposeB = options.transposeB ?? false;
  const offsetA = options.offsetA ?? 0, offsetB = options.offsetB ?? 0, offsetC = options.offsetC ?? 0;
  checkOperand("a", a, offsetA, transposeA ? k : m, transposeA ? m : k);
  checkOperand("b", b, offsetB, transposeB ? n : k, transposeB ? k : n);
  checkOperand("c", c, offsetC, m, n);
  const accumulate = options.accumulate ?? false;
  if (m === 0 || n === 0 || k === 0) {
    if (!accumulate) c.fill(0, offsetC, offsetC + m * n);
    return;
  }
  if (settings.kernels === "wasm" && m * n * k >= WASM_MIN_MACS) {
    call.relaxed = settings.relaxed;
    call.threads = m * n * k < THREADED_MIN_MACS ? 1 : settings.threads;
    call.transposeA = transposeA;
    call.transposeB = transposeB;
    call.accumulate = accumulate;
    call.offsetA = offsetA;
    call.offsetB = offsetB;
    call.offsetC = offsetC;
    if (gemmWasm(m, n, k, a, b, c, call)) return;
  }
  gemmTs(m, n, k, a, b, c, options);
}
