/**
 * The CPU backend: storage is a `Float32Array`; reads are synchronous.
 * @module
 */
import type { Backend } from "@cnnlab/core";
import { cpuGemmSettings } from "./gemm.ts";
import { allocate, allocateZeros, cpuMemoryStats, release } from "./memory.ts";

/**
 * A backend whose storage is a `Float32Array` in this process: a block of the WebAssembly kernels'
 * shared memory where the runtime allows it (see `memory.ts`), else a plain array.
 */
export class CpuBackend implements Backend<Float32Array> {
  /** Registry key. */
  readonly name: string = "cpu";

  /** Allocates zeros. */
  create(size: number): Float32Array {
    return allocateZeros(size);
  }
  /** Copies values in. */
  upload(values: Float32Array): Float32Array {
    const storage = allocate(values.length);
    storage.set(values);
    return storage;
  }
  /** Copies values out. */
  read(storage: Float32Array, size: number): Promise<Float32Array> {
    return Promise.resolve(storage.slice(0, size));
  }
  /** Returns a copy synchronously. */
  readSync(storage: Float32Array, size: number): Float32Array {
    return storage.slice(0, size);
  }
  /** Gives a block back for reuse (plain arrays are left to the garbage collector). */
  free(storage: Float32Array): void {
    release(storage);
  }
  /** Describes the host and what `gemm` runs: kernels, relaxed SIMD, threads, memory in use. */
  describe(): Record<string, unknown> {
    const { kernels, relaxedSimd, threads } = cpuGemmSettings();
    const { memoryBytes } = cpuMemoryStats();
    return {
      backend: "cpu",
      kernels,
      relaxedSimd,
      threads,
      memoryBytes,
      runtime: `Deno ${Deno.version.deno}`,
    };
  }
}
