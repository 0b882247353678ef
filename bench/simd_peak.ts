/**
 * This machine's floating-point peak as WebAssembly reaches it: an ideal loop (12 independent 4-lane
 * multiply-adds, no memory traffic, no bounds checks) on 1 thread and on every core at once, in
 * GFLOP/s. The bench prints cnnlab's GEMM as a share of it, and times it in turn with the GEMM's runs
 * (`IdealLoop`): a GEMM that drops while this holds waits on something other than arithmetic (memory, or
 * the integer instructions of V8's bounds checks when another tenant shares the core), and an
 * every-core figure near the 1-thread one says the second core was not there to be had (seen here: 51.0
 * against 50.5).
 * @module
 */
import { supportsKernel } from "../plugins/backend-cpu/_gemm_kernel.ts";
import { DONE, GENERATION, type PeakJob, sharedBytes, slots, STOP } from "./_simd_peak_protocol.ts";

/** Calls per timed run, of `ITERATIONS` each: 4.8·10⁸ flops per thread, about 10 ms at 48 GFLOP/s. */
const CALLS = 50;
const ITERATIONS = 100_000;
/** How long `IdealLoop.start` waits for its workers to be ready. */
const START_LIMIT_MS = 30_000;
/** Floating-point operations of one iteration: 12 multiply-adds of 4 lanes. */
const FLOPS_PER_ITERATION = 12 * 8;

/**
 * The ideal loop on `threads` workers that stay up between runs, so that its runs can be timed in turn
 * with another measurement's.
 *
 * @example Two runs on two threads: finite figures (a worker that did not report leaves 0 ms: Infinity)
 * ```ts
 * import { IdealLoop } from "./simd_peak.ts";
 * import assert from "node:assert/strict";
 * const loop = await IdealLoop.start(2, 2);
 * try {
 *   for (const gflops of [loop.run(), loop.run()]) assert.ok(Number.isFinite(gflops) && gflops > 0);
 * } finally {
 *   loop.close();
 * }
 * ```
 */
export class IdealLoop {
  #generation = 0;

  private constructor(
    private readonly workers: readonly Worker[],
    private readonly shared: SharedArrayBuffer,
    private readonly calls: number,
  ) {}

  /**
   * Starts the workers and waits until each has optimised its loop.
   *
   * @param threads Workers, each running the loop on its own.
   * @param calls Calls of 100,000 iterations per timed run.
   */
  static async start(threads: number, calls: number = CALLS): Promise<IdealLoop> {
    const shared = new SharedArrayBuffer(sharedBytes(threads));
    const relaxed = supportsKernel(true);
    let failure: string | undefined;
    const workers = Array.from({ length: threads }, (_, index) => {
      const w = new Worker(new URL("./_simd_peak_worker.ts", import.meta.url), { type: "module" });
      w.onerror = (event) => {
        event.preventDefault();
        failure ??= event.message;
      };
      const job: PeakJob = { shared, index, relaxed, calls, iterations: ITERATIONS };
      w.postMessage(job);
      return w;
    });
    const { control } = slots(shared);
    const deadline = performance.now() + START_LIMIT_MS;
    while (Atomics.load(control, DONE) < threads) {
      if (failure !== undefined || performance.now() > deadline) {
        for (const w of workers) w.terminate();
        throw new Error(
          `bench: the ideal SIMD loop's workers did not start (${
            failure ?? `not ready after ${START_LIMIT_MS / 1000} s`
          }); ` +
            "check that bench/_simd_peak_worker.ts loads with `deno run bench/_simd_peak_worker.ts`",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return new IdealLoop(workers, shared, calls);
  }

  /**
   * One timed run on every worker at once, blocking the calling thread until all are done.
   *
   * @returns GFLOP/s: all workers' operations over the slowest worker's time.
   */
  run(): number {
    const { control, milliseconds } = slots(this.shared);
    const threads = this.workers.length;
    const done = threads * (this.#generation + 2);
    Atomics.store(control, GENERATION, ++this.#generation);
    Atomics.notify(control, GENERATION);
    for (let d = Atomics.load(control, DONE); d < done; d = Atomics.load(control, DONE)) {
      Atomics.wait(control, DONE, d);
    }
    const ms = Math.max(...milliseconds);
    return (threads * this.calls * ITERATIONS * FLOPS_PER_ITERATION) / (ms / 1000) / 1e9;
  }

  /**
   * Ends the workers: tells them to leave their loop and waits (up to 2 s) until each has, then
   * terminates them. Deno's `terminate()` alone does not end a worker parked in `Atomics.wait`: its
   * thread would stay until the process exits, and keep a `deno run` from exiting at all.
   */
  close(): void {
    const { control } = slots(this.shared);
    const left = this.workers.length * (this.#generation + 2);
    Atomics.store(control, GENERATION, STOP);
    Atomics.notify(control, GENERATION);
    const deadline = performance.now() + 2000;
    for (
      let d = Atomics.load(control, DONE);
      d < left && performance.now() < deadline;
      d = Atomics.load(control, DONE)
    ) {
      Atomics.wait(control, DONE, d, 50);
    }
    for (const w of this.workers) w.terminate();
  }
}

/**
 * The ideal loop's GFLOP/s on 1 thread and on `cores` threads, the median of 3 runs each.
 *
 * @param cores Threads of the second figure.
 * @returns `{ "1": …, [cores]: … }`.
 */
export async function simdPeakGflops(cores: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const threads of [...new Set([1, cores])]) {
    const loop = await IdealLoop.start(threads);
    try {
      out[threads] = [loop.run(), loop.run(), loop.run()].sort((a, b) => a - b)[1];
    } finally {
      loop.close();
    }
  }
  return out;
}
