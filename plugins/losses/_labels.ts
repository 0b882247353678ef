/**
 * Private helper: the error for a label that is not a class index. The reference kernels and the
 * CPU kernels each check their labels (values are only known there) and build the same message;
 * the losses check host labels (`ctx.labels`) with `checkLabels`, since WebGPU kernels cannot.
 * @module
 */

/**
 * Builds the error for a bad class label.
 *
 * @param action What was being done, e.g. "compute softmaxCrossEntropy".
 * @param label The offending value.
 * @param row Its example index.
 * @param k The number of classes.
 * @returns A RangeError naming the loss, the label and the valid range.
 */
export function labelError(action: string, label: number, row: number, k: number): RangeError {
  return new RangeError(
    `Cannot ${action}: label ${label} of example ${row} is not a class index in 0..${
      k - 1
    }; labels must be integers below the number of classes (${k})`,
  );
}

/**
 * Checks host class labels (a loss's `ctx.labels`) before any kernel runs, so that backends whose
 * kernels cannot check them (WebGPU) still raise the same error.
 *
 * @param action What is being done, e.g. "compute softmaxCrossEntropy".
 * @param labels The labels, one per example.
 * @param k The number of classes.
 * @throws {RangeError} From `labelError` for the first label that is not an integer in `0..k−1`.
 */
export function checkLabels(action: string, labels: ArrayLike<number>, k: number): void {
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < k && Number.isInteger(c))) throw labelError(action, c, i, k);
  }
}
