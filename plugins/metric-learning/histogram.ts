/**
 * The histogram loss (Ustinova & Lempitsky, 2016).
 * @module
 */
import { type Loss, type LossContext, ops, type Tensor } from "@cnnlab/core";
import { assertFinite, classMasks, embeddingShape, hostLabels, l2Normalize } from "./_embedding.ts";

/** Options of `histogram`. */
export interface HistogramOptions {
  /** Number of bins R spaced uniformly over [−1, 1] (bin width 2/(R − 1)); default 101. */
  readonly bins?: number;
}

/**
 * Resolves the options of `histogram`; the default lives here.
 *
 * @param options User options.
 * @returns The bin count.
 * @throws {RangeError} If `bins` is not an integer ≥ 3, or on an unknown option.
 */
export function resolveHistogramOptions(options: HistogramOptions): Required<HistogramOptions> {
  for (const k of Object.keys(options)) {
    if (k !== "bins") throw new RangeError(`Cannot create histogram loss: unknown option "${k}"`);
  }
  const bins = options.bins ?? 101;
  if (!Number.isInteger(bins) || bins < 3) {
    throw new RangeError(`Cannot create histogram loss: bins must be an integer ≥ 3, got ${bins}`);
  }
  return { bins };
}

/**
 * Histogram loss: the cosine similarities of the L2-normalised embeddings of all positive and negative
 * pairs of a batch are soft-assigned (linear/triangular kernel) to R bins over [−1, 1], giving the
 * histograms h⁺ and h⁻; the loss L = Σᵣ h⁻ᵣ · Σ_{q ≤ r} h⁺_q estimates the probability that a random
 * negative pair is more similar than a random positive one.
 *
 * `compute` takes one embedding batch `[n, dim]` and class labels `[n]`.
 *
 * @param options Bin count (default 101).
 * @returns The loss (`output: "embedding"`).
 * @throws {RangeError} On bad options.
 * @example Opposite classes at opposite poles: no overlap, no loss
 * ```ts
 * import { histogram } from "@cnnlab/metric-learning";
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const e = device.tensor([1, 0, 1, 0, -1, 0, -1, 0], [4, 2]);
 * const l = histogram({}).compute(e, device.tensor([0, 0, 1, 1], [4])).dataSync()[0];
 * assert.ok(Math.abs(l) < 1e-6);
 * ```
 */
export function histogram(options: HistogramOptions = {}): Loss<HistogramOptions> {
  const { bins } = resolveHistogramOptions(options);
  const step = 2 / (bins - 1);
  const centres = Float32Array.from({ length: bins }, (_, r) => -1 + r * step);
  const cumulative = new Float32Array(bins * bins); // U[q, r] = 1 for q ≤ r: h · U is the running sum
  for (let q = 0; q < bins; q++) for (let r = q; r < bins; r++) cumulative[q * bins + r] = 1;
  return {
    name: "histogram",
    options,
    output: "embedding",
    embeddingMetric: "cosine",
    compute(predictions: Tensor | readonly Tensor[], targets: Tensor, ctx?: LossContext): Tensor {
      if (Array.isArray(predictions)) {
        throw new TypeError(
          `Cannot compute histogram loss on ${predictions.length} tensors: it takes one embedding batch`,
        );
      }
      const x = predictions as Tensor;
      const [n] = embeddingShape("histogram", x);
      assertFinite("histogram", x);
      const labels = hostLabels("histogram", targets, n, ctx);
      const masks = classMasks(labels);
      if (masks.np === 0) {
        throw new RangeError(
          `Cannot compute histogram loss: no positive pair in this batch; use a larger --batch-size`,
        );
      }
      if (masks.nn === 0) {
        throw new RangeError(
          `Cannot compute histogram loss: no negative pair (one class only) in this batch`,
        );
      }
      const device = x.device;
      const e = l2Normalize(x);
      const similarity = ops.reshape(ops.matmul(e, e, { transposeB: true }), [n * n, 1]);
      const t = device.tensor(centres, [1, bins]);
      // Triangular kernel: δ = max(0, 1 − |s − t_r| / Δ), [n·n, R].
      const delta = ops.maximum(
        ops.addScalar(ops.scale(ops.abs(ops.sub(similarity, t)), -1 / step), 1),
        device.zeros([1, 1]),
      );
      const pos = ops.matmul(device.tensor(masks.positive.map((v) => v / masks.np), [1, n * n]), delta);
      const neg = ops.matmul(device.tensor(masks.negative.map((v) => v / masks.nn), [1, n * n]), delta);
      const posCdf = ops.matmul(pos, device.tensor(cumulative, [bins, bins]));
      return ops.sum(ops.mul(neg, posCdf));
    },
  };
}
