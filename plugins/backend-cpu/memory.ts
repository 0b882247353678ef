/**
 * Storage of CPU tensors. Where the runtime shares WebAssembly memory between threads, a tensor's
 * values live in the memory of the WebAssembly kernels themselves, in blocks of an arena (see
 * `_arena.ts`): `gemm`, the convolution helpers and the SIMD kernels then read and write them in
 * place, with no copy in or out, and a freed block serves the next tensor of its size class, so a
 * training step that frees what it allocates stops growing after the first step. Elsewhere (no
 * `SharedArrayBuffer`, or the arena's 3 GiB full) storage is a plain `Float32Array`.
 *
 * Blocks go back to the arena when their tensor is disposed (`release`), or, for a tensor dropped
 * without `dispose`, when the garbage collector reclaims its view. `retain` lets two tensors share
 * one block (a reshape): the block goes back when both released it.
 * @module
 */
import { allocateWasm, arenaStats, releaseWasm } from "./_gemm_wasm.ts";
import { settings } from "./_settings.ts";

/** Extra owners of shared blocks (a block absent here has one owner). */
const extraOwners = new WeakMap<Float32Array, number>();

/** Gives back the block of a view dropped without `release`. */
const reclaim = new FinalizationRegistry<{ readonly buffer: SharedArrayBuffer; readonly offset: number }>(
  ({ buffer, offset }) => releaseWasm(new Float32Array(buffer, offset, 0)),
);

/**
 * Storage for `size` float32 values, contents unspecified: a block of the kernels' memory where it
 * can be, else a plain array (then zeros).
 *
 * @param size Values.
 * @returns The storage.
 * @throws {RangeError} If `size` is not a non-negative integer.
 * @example A block, written and released
 * ```ts
 * import { allocate, release } from "@cnnlab/backend-cpu/memory";
 * import assert from "node:assert/strict";
 * const x = allocate(4);
 * x.set([1, 2, 3, 4]);
 * assert.equal(x.length, 4);
 * release(x);
 * ```
 */
export function allocate(size: number): Float32Array {
  if (!Number.isInteger(size) || size < 0) {
    throw new RangeError(`Cannot allocate CPU storage of ${size} values: use a non-negative integer`);
  }
  if (settings.kernels !== "wasm" || size === 0) return new Float32Array(size);
  const view = allocateWasm(settings.relaxed, size);
  if (!view) return new Float32Array(size);
  reclaim.register(view, { buffer: view.buffer as SharedArrayBuffer, offset: view.byteOffset }, view);
  return view;
}

/**
 * Storage for `size` zeros (see `allocate`).
 *
 * @param size Values.
 * @returns The storage, zero-filled.
 * @throws {RangeError} If `size` is not a non-negative integer.
 * @example
 * ```ts
 * import { allocateZeros } from "@cnnlab/backend-cpu/memory";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...allocateZeros(3)], [0, 0, 0]);
 * ```
 */
export function allocateZeros(size: number): Float32Array {
  const view = allocate(size);
  if (view.buffer instanceof SharedArrayBuffer) view.fill(0);
  return view;
}

/**
 * Adds an owner to `storage` (a second tensor over the same values); each owner calls `release`.
 *
 * @param storage Storage from `allocate` (any other array is returned unchanged).
 * @returns The same storage.
 * @example A reshape shares its input's block
 * ```ts
 * import { allocate, release, retain } from "@cnnlab/backend-cpu/memory";
 * import assert from "node:assert/strict";
 * const x = allocate(2);
 * const y = retain(x);
 * release(x);
 * release(y);
 * assert.equal(x, y);
 * ```
 */
export function retain(storage: Float32Array): Float32Array {
  if (storage.buffer instanceof SharedArrayBuffer) {
    extraOwners.set(storage, (extraOwners.get(storage) ?? 0) + 1);
  }
  return storage;
}

/**
 * Removes an owner of `storage`; the last one gives its block back for reuse. The storage must not
 * be used after its last owner released it. Releasing storage that has no owner left does nothing.
 *
 * @param storage Storage from `allocate` (any other array is left to the garbage collector).
 * @throws Never.
 * @example
 * ```ts
 * import { allocate, release } from "@cnnlab/backend-cpu/memory";
 * release(allocate(8));
 * ```
 */
export function release(storage: Float32Array): void {
  if (!(storage.buffer instanceof SharedArrayBuffer)) return;
  const extra = extraOwners.get(storage);
  if (extra !== undefined) {
    if (extra > 1) extraOwners.set(storage, extra - 1);
    else extraOwners.delete(storage);
    return;
  }
  if (reclaim.unregister(storage)) releaseWasm(storage);
}

/** What `cpuMemoryStats` reports. */
export interface CpuMemoryStats {
  /** Bytes of storage blocks in use. */
  readonly liveBytes: number;
  /** Storage blocks in use. */
  readonly liveBlocks: number;
  /** Bytes of free blocks kept for reuse. */
  readonly freeBytes: number;
  /** Bytes of WebAssembly memory (blocks, workspace and each call's scratch data). */
  readonly memoryBytes: number;
}

/**
 * How much of the kernels' memory CPU storage uses: a training loop that disposes what it creates
 * keeps `memoryBytes` flat after its first step.
 *
 * @returns Live and free bytes and blocks, and the memory's size.
 * @example
 * ```ts
 * import { allocate, cpuMemoryStats, release } from "@cnnlab/backend-cpu/memory";
 * import assert from "node:assert/strict";
 * const x = allocate(1024);
 * const live = cpuMemoryStats().liveBytes;
 * release(x);
 * assert.ok(cpuMemoryStats().liveBytes <= live);
 * ```
 */
export function cpuMemoryStats(): CpuMemoryStats {
  const { liveBytes, liveBlocks, freeBytes, memoryBytes } = arenaStats();
  return { liveBytes, liveBlocks, freeBytes, memoryBytes };
}
