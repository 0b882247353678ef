/**
 * The triplet loss (Schroff, Kalenichenko & Philbin, 2015) with random or semi-hard negatives.
 * @module
 */
import { type Loss, type LossContext, ops, Rng, type Tensor } from "@cnnlab/core";
import {
  assertFinite,
  classMasks,
  embeddingShape,
  hostLabels,
  l2Normalize,
  pairwiseDistances,
  selectionMatrix,
} from "./_embedding.ts";
import { sampleTriplets } from "./pairs.ts";

/** Options of `triplet`. */
export interface TripletOptions {
  /** Margin m; default 1. */
  readonly margin?: number;
  /** Use squared Euclidean distances; default false (plain distances). */
  readonly squared?: boolean;
  /** How in-batch negatives are chosen: `"semi-hard"` (default) or `"random"`. */
  readonly mining?: "semi-hard" | "random";
  /** L2-normalise embeddings first; default false. */
  readonly normalize?: boolean;
}

/**
 * Resolves the options of `triplet`; the defaults live here.
 *
 * @param options User options.
 * @returns Every option with its value.
 * @throws {RangeError} On a bad value or an unknown option.
 */
export function resolveTripletOptions(options: TripletOptions): Required<TripletOptions> {
  for (const k of Object.keys(options)) {
    if (!["margin", "squared", "mining", "normalize"].includes(k)) {
      throw new RangeError(`Cannot create triplet loss: unknown option "${k}"`);
    }
  }
  const margin = options.margin ?? 1;
  if (!(margin > 0) || !Number.isFinite(margin)) {
    throw new RangeError(`Cannot create triplet loss: margin must be a positive number, got ${margin}`);
  }
  const mining = options.mining ?? "semi-hard";
  if (mining !== "semi-hard" && mining !== "random") {
    throw new RangeError(
      `Cannot create triplet loss: mining must be "semi-hard" or "random", got "${mining}"`,
    );
  }
  return { margin, squared: options.squared ?? false, mining, normalize: options.normalize ?? false };
}

/** A large distance standing in for "excluded" in masked minima and maxima. */
const FAR = 1e6;

/**
 * Triplet loss L = (1/N) Σ max(0, d(a, p) − d(a, n) + m), with plain or squared Euclidean d.
 *
 * `compute` takes either three embedding tensors `[anchor, positive, negative]` (each `[N, dim]`), or one
 * embedding batch `[n, dim]` with class labels `[n]`: then every (anchor, positive) pair of the batch is
 * used, with a random negative (`mining: "random"`) or a semi-hard one (default): the closest negative
 * farther than the positive, or, when there is none, the farthest negative (as in FaceNet and
 * TensorFlow Addons). Semi-hard mining runs as device ops on the current distances.
 *
 * @param options Margin (default 1), squared distances (default no), mining (default semi-hard), normalisation.
 * @returns The loss (`output: "embedding"`).
 * @throws {RangeError} On bad options.
 * @example A triplet already separated by the margin costs nothing
 * ```ts
 * import { triplet } from "@cnnlab/metric-learning";
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const [a, p, n] = [[0, 0], [0.5, 0], [3, 0]].map((v) => device.tensor(v, [1, 2]));
 * assert.equal(triplet({}).compute([a, p, n], device.tensor([0], [1])).dataSync()[0], 0);
 * ```
 */
export function triplet(options: TripletOptions = {}): Loss<TripletOptions> {
  const o = resolveTripletOptions(options);
  const distance = (x: Tensor, y: Tensor) => {
    const diff = ops.sub(x, y);
    const d2 = ops.sum(ops.mul(diff, diff), { axes: [1] });
    return o.squared ? d2 : ops.sqrt(ops.addScalar(d2, 1e-12));
  };
  const hinge = (x: Tensor) => ops.maximum(x, x.device.zeros([1]));
  return {
    name: "triplet",
    options,
    output: "embedding",
    embeddingMetric: o.normalize ? "cosine" : "euclidean",
    compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor {
      if (Array.isArray(predictions)) {
        if (predictions.length !== 3) {
          throw new TypeError(
            `Cannot compute triplet loss: expected [anchor, positive, negative], got ${predictions.length} tensors`,
          );
        }
        let [a, p, n] = predictions as Tensor[];
        for (const t of [a, p, n]) embeddingShape("triplet", t);
        if (o.normalize) [a, p, n] = [a, p, n].map(l2Normalize);
        return ops.mean(hinge(ops.addScalar(ops.sub(distance(a, p), distance(a, n)), o.margin)));
      }
      let x = predictions as Tensor;
      const [n] = embeddingShape("triplet", x);
      assertFinite("triplet", x);
      const labels = hostLabels("triplet", targets, n, ctx);
      if (o.normalize) x = l2Normalize(x);
      const device = x.device;
      if (o.mining === "random") {
        const t = sampleTriplets(labels, ctx?.rng ?? new Rng(0));
        const m = t.anchor.length;
        const pick = (rows: Int32Array) => ops.matmul(device.tensor(selectionMatrix(rows, n), [m, n]), x);
        return ops.mean(
          hinge(
            ops.addScalar(
              ops.sub(distance(pick(t.anchor), pick(t.positive)), distance(pick(t.anchor), pick(t.negative))),
              o.margin,
            ),
          ),
        );
      }
      const masks = classMasks(labels);
      if (masks.np === 0) {
        throw new RangeError(
          `Cannot compute triplet loss: no class has two examples in this batch; use a larger --batch-size`,
        );
      }
      if (masks.nn === 0) {
        throw new RangeError(
          `Cannot compute triplet loss: the batch holds one class only; use class-balanced batches`,
        );
      }
      const d = pairwiseDistances(x, { squared: o.squared });
      const dap = ops.reshape(d, [n, n, 1]); // [anchor, positive, ·]
      const dan = ops.reshape(d, [n, 1, n]); // [anchor, ·, negative]
      const negative = device.tensor(masks.negative, [n, 1, n]);
      const farther = ops.mul(ops.greaterEqual(dan, dap), negative); // semi-hard candidates (d_an ≥ d_ap)
      const notFarther = ops.addScalar(ops.neg(farther), 1);
      // Closest candidate: min over negatives of d_an, others pushed FAR away.
      const closest = ops.neg(ops.max(ops.neg(ops.add(dan, ops.scale(notFarther, FAR))), { axes: [2] }));
      const hasCandidate = ops.max(farther, { axes: [2] });
      // Fallback: the farthest negative (all of them are closer than the positive).
      const notNegative = ops.addScalar(ops.neg(negative), 1);
      const farthest = ops.max(ops.sub(dan, ops.scale(notNegative, FAR)), { axes: [2] });
      const chosen = ops.add(
        ops.mul(hasCandidate, closest),
        ops.mul(ops.addScalar(ops.neg(hasCandidate), 1), farthest),
      );
      const perPair = hinge(ops.addScalar(ops.sub(d, chosen), o.margin));
      const positive = device.tensor(masks.positive, [n, n]);
      return ops.scale(ops.sum(ops.mul(perPair, positive)), 1 / masks.np);
    },
  };
}
