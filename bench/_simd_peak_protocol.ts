/**
 * The words `simd_peak.ts` and its workers share: a generation the bench bumps to start a timed run (or
 * sets to `STOP` to end the workers), a count of workers done (or ready, or leaving), and each worker's
 * milliseconds. Private to the bench.
 * @module
 */

/** Index in `control`: bumped by the bench to start one timed run on every worker. */
export const GENERATION = 0;
/** Index in `control`: how many times workers have reported ready, done or leaving. */
export const DONE = 1;
/** The generation that tells every worker to leave its loop and close. */
export const STOP = -1;

/** What the bench posts to each worker once. */
export interface PeakJob {
  readonly shared: SharedArrayBuffer;
  /** This worker's slot in `milliseconds`. */
  readonly index: number;
  /** Whether relaxed SIMD validates here. */
  readonly relaxed: boolean;
  /** Calls of the loop per timed run, and iterations per call. */
  readonly calls: number;
  readonly iterations: number;
}

/** Bytes of the shared block for `threads` workers. */
export function sharedBytes(threads: number): number {
  return 8 + 8 * threads;
}

/** Views of the shared block: the two control words, then one float64 per worker. */
export function slots(shared: SharedArrayBuffer): { control: Int32Array; milliseconds: Float64Array } {
  return { control: new Int32Array(shared, 0, 2), milliseconds: new Float64Array(shared, 8) };
}
