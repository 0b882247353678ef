/**
 * Private helper: the error for a label that is not a class index. The reference kernels and the
 * CPU kernels each check their labels (values are only known there) and build the same message.
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
