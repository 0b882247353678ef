/**
 * Private helper: target distributions. A row of `[n, k]` targets must be non-negative and sum to
 * 1 within `DISTRIBUTION_TOLERANCE`; the reference kernels and the CPU kernels each check their
 * targets (values are only known there) and build the same message.
 * @module
 */

/** How far from 1 a target row's sum may be. */
export const DISTRIBUTION_TOLERANCE = 1e-3;

/**
 * Builds the error for a target row that is not a probability distribution.
 *
 * @param action What was being done, e.g. "compute klDivergence".
 * @param row The example index.
 * @param detail What is wrong, e.g. "entry 2 is -0.5" or "it sums to 1.2".
 * @returns A RangeError naming the loss, the row and the rule.
 */
export function distributionError(action: string, row: number, detail: string): RangeError {
  return new RangeError(
    `Cannot ${action}: target row ${row} is not a probability distribution (${detail}); rows of [batch, classes] targets must be non-negative and sum to 1 within ${DISTRIBUTION_TOLERANCE}`,
  );
}
