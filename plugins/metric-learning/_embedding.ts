/**
 * Shared pieces of the metric-learning losses: input checks, L2 normalisation, pairwise distances
 * and class masks. Private.
 * @module
 */
import { type LossContext, ops, type Tensor } from "@cnnlab/core";

/** Checks that `x` is an embedding batch `[n, d]` and returns n and d. */
export function embeddingShape(loss: string, x: Tensor): [number, number] {
  if (x.rank !== 2) {
    throw new TypeError(`Cannot compute ${loss} loss: embeddings must be [batch, dim], got [${x.shape}]`);
  }
  return [x.shape[0], x.shape[1]];
}

/**
 * The batch's labels on the host (from the loss context, or read from the targets on backends that
 * read synchronously), checked to be non-negative integers.
 */
export function hostLabels(loss: string, targets: Tensor, n: number, ctx?: LossContext): Float32Array {
  if (targets.rank !== 1 || targets.shape[0] !== n) {
    throw new TypeError(`Cannot compute ${loss} loss: labels must be [${n}], got [${targets.shape}]`);
  }
  const labels = ctx?.labels ?? targets.dataSync();
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0) {
      throw new RangeError(
        `Cannot compute ${loss} loss: label ${labels[i]} at index ${i} is not a class index`,
      );
    }
  }
  return labels;
}

/** Rejects NaN or infinite embeddings (they would silently poison every distance). */
export function assertFinite(loss: string, x: Tensor): void {
  const backend = x.backend;
  if (!backend.readSync) return; // Device-side backends skip the host check; the training loop catches NaN losses.
  const v = x.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new RangeError(
        `Cannot compute ${loss} loss: embedding ${
          Math.floor(v.length ? i / (v.length / x.shape[0]) : 0)
        } holds ${v[i]}; lower the learning rate or check the input data`,
      );
    }
  }
}

/** Rows scaled to unit Euclidean norm: x / sqrt(Σ x² + ε). */
export function l2Normalize(x: Tensor): Tensor {
  const norm = ops.sqrt(ops.addScalar(ops.sum(ops.mul(x, x), { axes: [1], keepDims: true }), 1e-12));
  return ops.div(x, norm);
}

/**
 * Pairwise Euclidean distances `[n, n]` (or their squares) of the rows of `x`, from the Gram matrix;
 * the squares are clamped at 0 and the root taken of `d² + 1e-12` so the gradient stays finite.
 */
export function pairwiseDistances(x: Tensor, options: { squared?: boolean } = {}): Tensor {
  const n = x.shape[0];
  const gram = ops.matmul(x, x, { transposeB: true });
  const sq = ops.sum(ops.mul(x, x), { axes: [1] });
  const d2 = ops.sub(ops.add(ops.reshape(sq, [n, 1]), ops.reshape(sq, [1, n])), ops.scale(gram, 2));
  const clamped = ops.maximum(d2, x.device.zeros([1, 1]));
  return options.squared ? clamped : ops.sqrt(ops.addScalar(clamped, 1e-12));
}

/** Same-class (i ≠ j) and different-class masks `[n, n]` as 0/1 values, with their counts. */
export function classMasks(
  labels: Float32Array,
): { positive: Float32Array; negative: Float32Array; np: number; nn: number } {
  const n = labels.length;
  const positive = new Float32Array(n * n), negative = new Float32Array(n * n);
  let np = 0, nn = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      if (labels[i] === labels[j]) {
        positive[i * n + j] = 1;
        np++;
      } else {
        negative[i * n + j] = 1;
        nn++;
      }
    }
  }
  return { positive, negative, np, nn };
}

/** A one-hot selection matrix `[rows.length, n]`: `select(rows) · X` gathers rows of X differentiably. */
export function selectionMatrix(rows: ArrayLike<number>, n: number): Float32Array {
  const m = new Float32Array(rows.length * n);
  for (let i = 0; i < rows.length; i++) m[i * n + rows[i]] = 1;
  return m;
}
