/**
 * This machine's floating-point peak as WebAssembly reaches it: an ideal loop (12 independent 4-lane
 * multiply-adds, no memory traffic, no bounds checks) on 1 thread and on every core at once, in
 * GFLOP/s. The bench prints cnnlab's GEMM as a share of it: a GEMM that drops while this holds waits on
 * something other than arithmetic (memory, or the integer instructions of V8's bounds checks when
 * another tenant shares the core), and an every-core figure near the 1-thread one says the second core
 * was not there to be had (seen here: 51.0 against 50.5).
 * @module
 */
import { supportsKernel } from "../plugins/backend-cpu/_gemm_kernel.ts";

/** Timed calls of 100,000 iterations per thread: 4.8·10⁹ flops, about 0.1 s at 48 GFLOP/s. */
const CALLS = 50;

/** GFLOP/s of the ideal loop on `threads` workers started together: all their flops over the slowest. */
async function peakOn(threads: number, relaxed: boolean): Promise<number> {
  const start = new SharedArrayBuffer(8), word = new Int32Array(start);
  const workers = Array.from(
    { length: threads },
    () => new Worker(new URL("./_simd_peak_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    const times = workers.map((w) =>
      new Promise<number>((resolve) => (w.onmessage = (e) => resolve(e.data)))
    );
    for (const w of workers) w.postMessage({ start, calls: CALLS, relaxed });
    while (Atomics.load(word, 0) < threads) await new Promise((resolve) => setTimeout(resolve, 1));
    Atomics.store(word, 1, 1);
    Atomics.notify(word, 1);
    const ms = Math.max(...await Promise.all(times));
    return (threads * CALLS * 100_000 * 12 * 8) / (ms / 1000) / 1e9;
  } finally {
    for (const w of workers) w.terminate();
  }
}

/**
 * The ideal loop's GFLOP/s on 1 thread and on `cores` threads, the median of 3 runs each.
 *
 * @param cores Threads of the second figure.
 * @returns `{ "1": …, [cores]: … }`.
 */
export async function simdPeakGflops(cores: number): Promise<Record<string, number>> {
  const relaxed = supportsKernel(true);
  const out: Record<string, number> = {};
  for (const threads of [...new Set([1, cores])]) {
    const runs = [
      await peakOn(threads, relaxed),
      await peakOn(threads, relaxed),
      await peakOn(threads, relaxed),
    ];
    out[threads] = runs.sort((a, b) => a - b)[1];
  }
  return out;
}
