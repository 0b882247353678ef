/**
 * The Loss contract.
 * @module
 */
import type { Rng } from "./rng.ts";
import type { Tensor } from "./tensor.ts";

/** What a loss may use besides predictions and targets. */
export interface LossContext {
  /** Training (pairs or triplets may be sampled) or evaluation. */
  readonly training: boolean;
  /** Seeded RNG for any sampling the loss does (random pairs, random negatives). */
  readonly rng: Rng;
  /**
   * The batch's class labels on the host, when the caller has them: losses that form pairs or
   * triplets inside a batch build their masks from these without reading the device.
   */
  readonly labels?: Float32Array;
}

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
   * @param ctx Training flag, RNG and host labels; losses that need none ignore it.
   */
  compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor;
  /** What the model's output means: class scores (accuracy is measured) or embeddings. */
  readonly output: "scores" | "embedding";
  /**
   * For embedding losses, the geometry they train and so the one to evaluate in: `"cosine"` when the
   * loss sees L2-normalised embeddings (their length is arbitrary), else `"euclidean"` (the default).
   */
  readonly embeddingMetric?: "euclidean" | "cosine";
}

/** Builds a loss from options. */
export type LossFactory<O extends object = object> = (options: O) => Loss<O>;
