/**
 * The CPU backend: storage is a `Float32Array`; reads are synchronous.
 * @module
 */
import type { Backend } from "@cnnlab/core";
import { cpuGemmSettings } from "./gemm.ts";

/** A backend whose storage is a plain `Float32Array` in this process. */
export class CpuBackend implements Backend<Float32Array> {
  /** Registry key. */
  readonly name: string = "cpu";

  /** Allocates zeros. */
  create(size: number): Float32Array {
    return new Float32Array(size);
  }
  /** Copies values in. */
  upload(values: Float32Array): Float32Array {
    return values.slice();
  }
  /** Copies values out. */
  read(storage: Float32Array, size: number): Promise<Float32Array> {
    return Promise.resolve(storage.slice(0, size));
  }
  /** Returns a copy synchronously. */
  readSync(storage: Float32Array, size: number): Float32Array {
    return storage.slice(0, size);
  }
  /** Nothing to do: the garbage collector reclaims arrays. */
  free(_storage: Float32Array): void {}
  /** Describes the host and what `gemm` runs: kernels, relaxed SIMD, threads. */
  describe(): Record<string, unknown> {
    const { kernels, relaxedSimd, threads } = cpuGemmSettings();
    return { backend: "cpu", kernels, relaxedSimd, threads, runtime: `Deno ${Deno.version.deno}` };
  }
}
