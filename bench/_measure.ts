/**
 * What every bench row shares: the row shape, the task names, median timing after warm-up and the
 * peak-resident-memory sampler.
 * @module
 */
import { median } from "@cnnlab/cli/bench";

/** The tasks a row can measure. */
export const TASKS = ["lenet5-train", "lenet5-infer", "alexnet-forward", "gemm-1024"] as const;

/** One of `TASKS`. */
export type Task = typeof TASKS[number];

/** One bench result: exactly one of the figures, or a `note` saying why there is none. */
export interface Row {
  /** `cnnlab`, `tfjs` or `onnxruntime`. */
  framework: string;
  /** `cpu`, `webgpu`, `wasm-simd`, … */
  backend: string;
  task: Task;
  /** Images per forward (or step); 1 for alexnet-forward and gemm-1024. */
  batch: number;
  /** lenet5-train, lenet5-infer: median images per second. */
  imagesPerSecond?: number;
  /** alexnet-forward: median milliseconds per image. */
  msPerImage?: number;
  /** gemm-1024: 2·1024³ / median seconds, in 10⁹ per second. */
  gflops?: number;
  /** Timed runs the median was taken over. */
  runs?: number;
  /** The adapter, for WebGPU rows. */
  device?: string;
  /** Why a figure is missing, or how the row was measured. */
  note?: string;
  /**
   * cnnlab's CPU rows timed alone: the share of the kernels' tasks each thread ran while the row was
   * measured, the calling thread first (a worker near 0 did not help: its core was busy or slow).
   */
  threadShares?: number[];
  /**
   * cnnlab's GEMM row: the ideal loop on every core (`bench/simd_peak.ts`), run after each timed
   * product, in GFLOP/s (median); what the cores could do at the same moments.
   */
  idealGflops?: number;
}

/** What `medianSeconds` repeats. */
export interface TimingOptions {
  /** Untimed calls first; default 1. */
  readonly warmup?: number;
  /** Timed calls; the median is returned. */
  readonly runs: number;
  /** Calls of `step` per timed run; default 1. */
  readonly steps?: number;
}

/**
 * Times `step`: `warmup` untimed calls, then `runs` timed runs of `steps` calls each; samples the
 * resident memory after every call.
 *
 * @param step The work; awaited when it returns a promise.
 * @param options Warm-up, runs and steps per run.
 * @returns The median seconds of one run.
 */
export async function medianSeconds(step: () => unknown, options: TimingOptions): Promise<number> {
  return (await interleavedMedianSeconds([step], options))[0];
}

/**
 * Times several contenders against each other: each gets `warmup` untimed calls, then every timed
 * run times `steps` calls of each contender in turn, so that a machine whose speed drifts (a
 * shared VM: 1.5× within seconds here) slows all of them alike and their ratio holds.
 *
 * @param steps One step per contender; awaited when it returns a promise.
 * @param options Warm-up, runs and steps per run.
 * @returns The median seconds of one run, per contender.
 * @example Two contenders, medians of three runs each
 * ```ts
 * import { interleavedMedianSeconds } from "./_measure.ts";
 * import assert from "node:assert/strict";
 * const calls = [0, 0];
 * const s = await interleavedMedianSeconds([() => calls[0]++, () => calls[1]++], { runs: 3, steps: 2 });
 * assert.deepEqual(calls, [7, 7]);
 * assert.equal(s.length, 2);
 * ```
 */
export async function interleavedMedianSeconds(
  steps: readonly (() => unknown)[],
  options: TimingOptions,
): Promise<number[]> {
  const { warmup = 1, runs, steps: calls = 1 } = options;
  for (const step of steps) {
    for (let i = 0; i < warmup; i++) {
      await step();
      sampleRss();
    }
  }
  const seconds = steps.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (const [i, step] of steps.entries()) {
      const t0 = performance.now();
      for (let s = 0; s < calls; s++) await step();
      seconds[i].push((performance.now() - t0) / 1000);
      sampleRss();
    }
  }
  return seconds.map(median);
}

let peak = 0;

/**
 * Records the current resident set size if it is the largest seen.
 *
 * @returns The peak so far, in bytes.
 */
export function sampleRss(): number {
  const rss = Deno.memoryUsage().rss;
  if (rss > peak) peak = rss;
  return peak;
}

/**
 * Samples the resident set size every `ms` milliseconds (between tasks; synchronous compute delays
 * it, which `medianSeconds` makes up for by sampling after every call) without keeping the process alive.
 *
 * @param ms The period.
 */
export function startRssSampling(ms = 20): void {
  Deno.unrefTimer(setInterval(sampleRss, ms));
}

/**
 * Formats bytes as MiB.
 *
 * @param bytes A byte count.
 * @returns E.g. `"812 MiB"`.
 */
export function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/**
 * The error message of anything thrown, on one line and at most 160 characters.
 *
 * @param e What was thrown.
 * @returns The message.
 */
export function reason(e: unknown): string {
  const m = e instanceof Error
    ? e.message
    : typeof e === "object" && e && "message" in e
    ? String((e as { message: unknown }).message)
    : String(e);
  const line = m.split("\n")[0];
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
