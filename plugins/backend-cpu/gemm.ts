/**
 * Single-precision matrix multiply, the workhorse of dense and convolution kernels, and its
 * settings: which kernels (`"wasm"`: WebAssembly SIMD on every core, the default where the runtime
 * validates it; `"ts"`: the plain TypeScript reference) and how many threads.
 *
 * The WebAssembly path packs op(A) and op(B) into panels (resolving transposes and padding edges),
 * runs a register-blocked micro-kernel over cache-sized blocks (relaxed SIMD's fused multiply-add
 * where available, plain 128-bit SIMD otherwise) and splits C among the calling thread and worker
 * threads over shared memory; the call stays synchronous. Products below a few thousand
 * multiply-adds take the TypeScript path, whose call costs less. A `batch` of products of one shape
 * runs as one job whose tasks any thread takes, so that many small products (Winograd's) keep
 * every thread busy.
 *
 * An A that many calls multiply by a fresh B (weights: Winograd's transformed filters) can be
 * packed once with `packGemmA` and multiplied with `gemmPacked`, which skips packing A; packing it
 * costs as much memory traffic as the products themselves when B has few columns.
 * @module
 */
import {
  gemmPackedWasm,
  gemmWasm,
  packAWasm,
  packedABytes,
  threadStats,
  type WasmGemmSettings,
  workersStarted,
} from "./_gemm_wasm.ts";
import { KERNEL_SHAPES } from "./_gemm_kernel.ts";
import { relaxedSimd, settings, simd } from "./_settings.ts";
import { gemmTs, resolveBatch } from "./gemm_ts.ts";
import { allocate, release } from "./memory.ts";

export { gemmTs } from "./gemm_ts.ts";

/** Options of `gemm`. */
export interface GemmOptions {
  /** A is stored `[k, m]` (use Aᵀ). */
  readonly transposeA?: boolean;
  /** B is stored `[n, k]` (use Bᵀ). */
  readonly transposeB?: boolean;
  /** Add to C instead of overwriting it. */
  readonly accumulate?: boolean;
  /** Element offsets into a, b and c (default 0); with `batch`, of the first product. */
  readonly offsetA?: number;
  readonly offsetB?: number;
  readonly offsetC?: number;
  /**
   * Products computed by the call (a positive integer, default 1): `C_i = op(A_i)·op(B_i)` (or
   * `+=`) for i in `[0, batch)`, each of the same shape, transposes and accumulation, `X_i`
   * starting at `offsetX + i·strideX`. One call shares packing, threads and wake-ups among the
   * products, so many small ones (Winograd's 16 per convolution) run nearer the speed of one large
   * product than as separate calls.
   *
   * @example Two 1×2 by 2×1 products, one after the other
   * ```ts
   * import { gemm } from "@cnnlab/backend-cpu/gemm";
   * import assert from "node:assert/strict";
   * const c = new Float32Array(2);
   * gemm(1, 1, 2, new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), c, { batch: 2 });
   * assert.deepEqual([...c], [1 * 5 + 2 * 6, 3 * 7 + 4 * 8]);
   * ```
   */
  readonly batch?: number;
  /**
   * Elements between the first values of consecutive products' A, B and C; defaults `m·k`, `k·n`
   * and `m·n` (the products one after the other). Any non-negative integer that keeps every
   * product inside its array: 0 uses one A (or B) for every product, a larger stride skips values.
   * C's must be at least `m·n` when `batch` > 1, so that no two products write the same value.
   */
  readonly strideA?: number;
  readonly strideB?: number;
  readonly strideC?: number;
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
 * Tasks each thread of the current kernels has run so far (GEMM panels, convolution rows, pooling
 * chunks …), the calling thread first, then each worker: the difference of two snapshots shows how
 * the threads shared some work; a worker with no share did not help (asleep, or its core was busy).
 *
 * @returns Counts by thread; `[]` before the WebAssembly kernels first ran.
 * @example Counts grow with threaded work
 * ```ts
 * import { cpuTasksRun, gemm } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * const before = cpuTasksRun().reduce((a, b) => a + b, 0);
 * gemm(256, 256, 256, new Float32Array(256 * 256), new Float32Array(256 * 256), new Float32Array(256 * 256));
 * assert.ok(cpuTasksRun().reduce((a, b) => a + b, 0) > before);
 * ```
 */
export function cpuTasksRun(): number[] {
  return threadStats(settings.relaxed).done;
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

function checkSize(name: string, value: number, action = "multiply matrices"): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Cannot ${action}: ${name} is ${value}; it must be a non-negative integer`);
  }
}

/**
 * Checks that `array` holds `batch` `[rows, cols]` matrices, the first from `offset`, the others
 * `stride` apart; `action` names the call in the error.
 */
function checkOperand(
  name: string,
  array: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  batch: number,
  stride: number,
  action = "multiply matrices",
): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + (batch - 1) * stride + rows * cols > array.length) {
    const matrices = batch === 1 ? `[${rows}, ${cols}]` : `${batch} × [${rows}, ${cols}] ${stride} apart`;
    throw new RangeError(
      `Cannot ${action}: ${name} holds ${array.length} values, too few for ${matrices} from offset ${offset}`,
    );
  }
}

/** Checks the batch and strides of a call (resolved into `call`). */
function checkBatch(m: number, n: number): void {
  if (!Number.isInteger(call.batch) || call.batch < 1) {
    throw new RangeError(`Cannot multiply matrices: batch is ${call.batch}; it must be a positive integer`);
  }
  for (const name of ["strideA", "strideB", "strideC"] as const) checkSize(name, call[name]);
  if (call.batch > 1 && call.strideC < m * n) {
    throw new RangeError(
      `Cannot multiply matrices: strideC is ${call.strideC}, so the ${call.batch} products' [${m}, ${n}] blocks of c overlap; use strideC ≥ ${
        m * n
      }`,
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
  batch: 1,
  strideA: 0,
  strideB: 0,
  strideC: 0,
};

/**
 * Computes `C = op(A) · op(B)` (or `C += …`) for row-major float32 matrices, C being `[m, n]`, with
 * the kernels chosen by `setCpuKernels` on up to `setCpuThreads` threads; with `batch`, that many
 * independent products of one shape in one call. Synchronous. Operands that are views of the
 * kernels' memory (`allocate` of `@cnnlab/backend-cpu/memory`, `gemmWorkspace` of
 * `@cnnlab/backend-cpu/im2col`) are used in place, not copied; C must not overlap A or B.
 *
 * @param m Rows of C.
 * @param n Columns of C.
 * @param k Inner dimension.
 * @param a A's values: `[m, k]`, or `[k, m]` with `transposeA`.
 * @param b B's values: `[k, n]`, or `[n, k]` with `transposeB`.
 * @param c C's values `[m, n]`, written in place.
 * @param options Transposes, accumulation, offsets, batch and strides.
 * @returns Nothing; C is written in place.
 * @throws {RangeError} If `m`, `n` or `k` is not a non-negative integer, `batch` not a positive
 * integer, a stride not a non-negative integer, an array too short for its matrices at their
 * offsets, or `strideC` less than `m·n` with more than one product.
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
  const { batch, strideA, strideB, strideC } = resolveBatch(m, n, k, options, call);
  checkBatch(m, n);
  const transposeA = options.transposeA ?? false, transposeB = options.transposeB ?? false;
  const offsetA = options.offsetA ?? 0, offsetB = options.offsetB ?? 0, offsetC = options.offsetC ?? 0;
  checkOperand("a", a, offsetA, transposeA ? k : m, transposeA ? m : k, batch, strideA);
  checkOperand("b", b, offsetB, transposeB ? n : k, transposeB ? k : n, batch, strideB);
  checkOperand("c", c, offsetC, m, n, batch, strideC);
  const accumulate = options.accumulate ?? false;
  if (m === 0 || n === 0 || k === 0) {
    if (accumulate) return;
    for (let i = 0; i < batch; i++) c.fill(0, offsetC + i * strideC, offsetC + i * strideC + m * n);
    return;
  }
  const macs = batch * m * n * k;
  if (settings.kernels === "wasm" && macs >= WASM_MIN_MACS) {
    call.relaxed = settings.relaxed;
    call.threads = macs < THREADED_MIN_MACS ? 1 : settings.threads;
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

/** Options of `packGemmA`: how A is stored, as for `gemm` (`strideA` defaults to `m·k`). */
export type PackGemmAOptions = Pick<GemmOptions, "transposeA" | "offsetA" | "batch" | "strideA">;

/**
 * Options of `gemmPacked`, as for `gemm` (`strideB` defaults to `k·n`, `strideC` to `m·n`); the
 * batch, m and k come from the packed A.
 */
export type GemmPackedOptions = Pick<
  GemmOptions,
  "transposeB" | "accumulate" | "offsetB" | "offsetC" | "strideB" | "strideC"
>;

/**
 * op(A) of each product of a batch, packed once by `packGemmA` for the WebAssembly kernels:
 * `batch` products one after the other in `storage`, each `⌈m / mr⌉` panels of `[k, mr]` floats
 * (the last panel zero past row m), product i from float `i·⌈m / mr⌉·mr·k`.
 */
export interface PackedGemmA {
  /** Rows of op(A) (and of C). */
  readonly m: number;
  /** Depth: columns of op(A). */
  readonly k: number;
  /** Products packed. */
  readonly batch: number;
  /** The kernel flavour it was packed for: relaxed SIMD's (true) or plain SIMD's. */
  readonly relaxedSimd: boolean;
  /** Rows per panel of that flavour (`KERNEL_SHAPES[…].mr` of `_gemm_kernel.ts`). */
  readonly mr: number;
  /** The panels: a block of the kernels' memory (`allocate`); not to be used after `dispose`. */
  readonly storage: Float32Array;
  /** Whether `dispose` was called. */
  readonly disposed: boolean;
  /** Gives the storage back to the kernels' memory; later calls do nothing. */
  dispose(): void;
}

class PackedA implements PackedGemmA {
  #disposed = false;
  constructor(
    readonly m: number,
    readonly k: number,
    readonly batch: number,
    readonly relaxedSimd: boolean,
    readonly mr: number,
    readonly storage: Float32Array,
  ) {}
  get disposed(): boolean {
    return this.#disposed;
  }
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    release(this.storage);
  }
}

/**
 * Packs op(A) of `gemm` once for many calls that multiply it by a fresh B (`gemmPacked`), so that
 * they skip packing A. Only for the WebAssembly kernels: where `gemm` would not use them the
 * caller keeps calling `gemm`. The packing holds for the kernel flavour chosen when it was made;
 * after `setCpuKernels` changes it, `gemmPacked` refuses it (pack again).
 *
 * @param m Rows of op(A).
 * @param k Columns of op(A) (the depth of the products).
 * @param a A's values: `[m, k]`, or `[k, m]` with `transposeA`; for each product with `batch`.
 * @param options Transpose, offset, batch and stride of A, as for `gemm`.
 * @returns The packed A, to `dispose` when no longer needed; undefined when the WebAssembly kernels
 * are not in use (`setCpuKernels("ts")`), the runtime shares no memory between threads, the
 * kernels' memory is full, or `m` or `k` is 0.
 * @throws {RangeError} If `m` or `k` is not a non-negative integer, `batch` not a positive integer,
 * `strideA` not a non-negative integer, or `a` too short for its matrices at their offsets.
 * @example Pack A once, multiply it by two B
 * ```ts
 * import { gemm, gemmPacked, packGemmA } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * const a = new Float32Array([1, 2, 3, 4]), c = new Float32Array(4);
 * const packed = packGemmA(2, 2, a);
 * for (const b of [new Float32Array([5, 6, 7, 8]), new Float32Array([1, 0, 0, 1])]) {
 *   // Without a packed A (other kernels), or once it no longer fits them, plain gemm.
 *   if (!packed || !gemmPacked(packed, 2, b, c)) gemm(2, 2, 2, a, b, c);
 * }
 * assert.deepEqual([...c], [1, 2, 3, 4]);
 * packed?.dispose();
 * ```
 */
export function packGemmA(
  m: number,
  k: number,
  a: Float32Array,
  options: PackGemmAOptions = {},
): PackedGemmA | undefined {
  const action = "pack A for gemm";
  checkSize("m", m, action);
  checkSize("k", k, action);
  const batch = options.batch ?? 1, strideA = options.strideA ?? m * k;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`Cannot ${action}: batch is ${batch}; it must be a positive integer`);
  }
  checkSize("strideA", strideA, action);
  const transposeA = options.transposeA ?? false, offsetA = options.offsetA ?? 0;
  checkOperand("a", a, offsetA, transposeA ? k : m, transposeA ? m : k, batch, strideA, action);
  if (settings.kernels !== "wasm" || m === 0 || k === 0) return undefined;
  const relaxed = settings.relaxed;
  const storage = allocate(batch * packedABytes(relaxed, m, k) / 4);
  const s = { relaxed, transposeA, offsetA, batch, strideA };
  if (!(storage.buffer instanceof SharedArrayBuffer) || !packAWasm(m, k, a, storage, s)) {
    release(storage);
    return undefined;
  }
  return new PackedA(m, k, batch, relaxed, KERNEL_SHAPES[relaxed ? "relaxed" : "plain"].mr, storage);
}

/**
 * Computes what `gemm(packed.m, n, packed.k, a, b, c, { ...options, batch: packed.batch })` would
 * with the A that `packed` was made from, without packing A: `C_i = op(A_i)·op(B_i)` (or `+=`),
 * C_i being `[m, n]`, on up to `setCpuThreads` threads. Operands that are views of the kernels'
 * memory are used in place, as for `gemm`. Every shape runs on packed panels, also those that
 * `gemm` would run otherwise (at most 4 rows, or a long A·Bᵀ); products too small for the
 * WebAssembly kernels are better left to `gemm`.
 *
 * @param packed A from `packGemmA`.
 * @param n Columns of C.
 * @param b B's values: `[k, n]`, or `[n, k]` with `transposeB`; for each product.
 * @param c C's values `[m, n]` for each product, written in place; it must not overlap B.
 * @param options Transpose of B, accumulation, offsets and strides of B and C, as for `gemm`.
 * @returns True; or false, doing nothing, when `packed` no longer fits the kernels (disposed, or
 * `setCpuKernels` changed the kernels or their flavour since it was packed) or the kernels' memory
 * is full: then call `gemm` with the original A.
 * @throws {RangeError} If `n` is not a non-negative integer, a stride not a non-negative integer,
 * an array too short for its matrices at their offsets, or `strideC` less than `m·n` with more
 * than one product.
 * @throws {Error} If a worker thread failed (a bug; `setCpuThreads(1)` avoids workers).
 * @example Three products of one packed batch, then refused once disposed
 * ```ts
 * import { gemmPacked, packGemmA } from "@cnnlab/backend-cpu/gemm";
 * import assert from "node:assert/strict";
 * // A_i = [i + 1] (1 × 1), B_i = [1, 2] (1 × 2).
 * const packed = packGemmA(1, 1, new Float32Array([1, 2, 3]), { batch: 3 });
 * if (packed) {
 *   const c = new Float32Array(6);
 *   assert.ok(gemmPacked(packed, 2, new Float32Array([1, 2]), c, { strideB: 0 }));
 *   assert.deepEqual([...c], [1, 2, 2, 4, 3, 6]);
 *   packed.dispose();
 *   assert.equal(gemmPacked(packed, 2, new Float32Array([1, 2]), c, { strideB: 0 }), false);
 * }
 * ```
 */
export function gemmPacked(
  packed: PackedGemmA,
  n: number,
  b: Float32Array,
  c: Float32Array,
  options: GemmPackedOptions = {},
): boolean {
  const { m, k, batch } = packed;
  checkSize("n", n);
  call.batch = batch;
  call.strideA = 0;
  call.strideB = options.strideB ?? k * n;
  call.strideC = options.strideC ?? m * n;
  checkBatch(m, n);
  const transposeB = options.transposeB ?? false;
  const offsetB = options.offsetB ?? 0, offsetC = options.offsetC ?? 0;
  checkOperand("b", b, offsetB, transposeB ? n : k, transposeB ? k : n, batch, call.strideB);
  checkOperand("c", c, offsetC, m, n, batch, call.strideC);
  if (
    packed.disposed || !(packed instanceof PackedA) || settings.kernels !== "wasm" ||
    settings.relaxed !== packed.relaxedSimd
  ) {
    return false;
  }
  if (n === 0) return true;
  call.relaxed = packed.relaxedSimd;
  call.threads = batch * m * n * k < THREADED_MIN_MACS ? 1 : settings.threads;
  call.transposeA = false;
  call.transposeB = transposeB;
  call.accumulate = options.accumulate ?? false;
  call.offsetA = 0;
  call.offsetB = offsetB;
  call.offsetC = offsetC;
  return gemmPackedWasm(m, n, k, packed.storage, b, c, call);
}
