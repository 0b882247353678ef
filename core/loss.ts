/**
 * The Loss contract.
 * @module
 */
import type { Tensor } from "./tensor.ts";

/** A loss: predictions and targets in, a scalar tensor out. */
export interface Loss<O extends object = object> {
  /** Registry key. */
  readonly name: string;
  /** Options it was created with. */
  readonly options: Readonly<O>;
  /**
   * Computes the mean loss over the batch.
   *
   * @param predictions One tensor, or several for pairs and triplets.
   * @param targets Class indices `[batch]` (as float32) or a target tensor, per loss.
   */
  compute(predictions: Tensor | readonly Tensor[], targets: Tensor): Tensor;
  /** What the model's output means: class scores (accuracy is measured) or embeddings. */
  readonly output: "scores" | "embedding";
}

/** Builds a loss from options. */
export type LossFactory<O extends object = object> = (options: O) => Loss<O>;
