/**
 * Forming pairs and triplets from a labelled batch: random balanced pairs for the contrastive loss,
 * random negatives for triplets. (Semi-hard triplet mining runs on the device inside the triplet
 * loss, since it depends on the current distances.)
 * @module
 */
import type { Rng } from "@cnnlab/core";

/** Index pairs and their similarity (1 same class, 0 different). */
export interface Pairs {
  readonly first: Int32Array;
  readonly second: Int32Array;
  readonly similar: Float32Array;
}

function byClass(labels: ArrayLike<number>): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = m.get(labels[i]) ?? [];
    list.push(i);
    m.set(labels[i], list);
  }
  return m;
}

/**
 * Forms the pairs of a labelled batch: every similar pair (i < j, same class) and as many dissimilar
 * pairs drawn at random without repetition (all of them when there are fewer), so both kinds weigh
 * alike. Pass `count` to draw that many pairs instead, half similar and half dissimilar, with repetition.
 *
 * @param labels Class of each batch element.
 * @param rng Seeded RNG.
 * @param count Number of pairs to draw; omit for every similar pair plus as many dissimilar ones.
 * @returns The pairs.
 * @throws {RangeError} If the batch holds a single class (no dissimilar pair) or no class with two examples.
 * @example Pairs from a batch of four
 * ```ts
 * import { samplePairs } from "@cnnlab/metric-learning";
 * import { Rng } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const p = samplePairs([0, 0, 1, 1], new Rng(1));
 * assert.deepEqual([...p.similar].sort(), [0, 0, 1, 1]);
 * ```
 */
export function samplePairs(labels: ArrayLike<number>, rng: Rng, count?: number): Pairs {
  const classes = byClass(labels);
  const multi = [...classes.values()].filter((c) => c.length >= 2);
  if (classes.size < 2) {
    throw new RangeError(
      `Cannot form dissimilar pairs: the batch holds one class only (${
        labels[0]
      }); use class-balanced or larger batches`,
    );
  }
  if (multi.length === 0) {
    throw new RangeError(
      `Cannot form similar pairs: no class has two examples in this batch; use a larger --batch-size`,
    );
  }
  const n = labels.length;
  const first: number[] = [], second: number[] = [], similar: number[] = [];
  const push = (a: number, b: number, s: number) => {
    first.push(a);
    second.push(b);
    similar.push(s);
  };
  if (count === undefined) {
    const dissimilar: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (labels[i] === labels[j]) push(i, j, 1);
        else dissimilar.push([i, j]);
      }
    }
    const positives = first.length;
    for (let k = 0; k < Math.min(positives, dissimilar.length); k++) {
      const pick = k + rng.int(dissimilar.length - k);
      [dissimilar[k], dissimilar[pick]] = [dissimilar[pick], dissimilar[k]];
      push(dissimilar[k][0], dissimilar[k][1], 0);
    }
  } else {
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) {
        const c = multi[rng.int(multi.length)];
        const a = rng.int(c.length);
        let b = rng.int(c.length - 1);
        if (b >= a) b++;
        push(c[a], c[b], 1);
      } else {
        let a: number, b: number;
        do {
          a = rng.int(n);
          b = rng.int(n);
        } while (labels[a] === labels[b]);
        push(a, b, 0);
      }
    }
  }
  return {
    first: Int32Array.from(first),
    second: Int32Array.from(second),
    similar: Float32Array.from(similar),
  };
}

/** Anchor, positive and negative indices. */
export interface Triplets {
  readonly anchor: Int32Array;
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/**
 * Forms every (anchor, positive) pair of the batch with a random negative for each.
 *
 * @param labels Class of each batch element.
 * @param rng Seeded RNG.
 * @returns The triplets.
 * @throws {RangeError} If no class has two examples or the batch holds a single class.
 * @example Two classes of two
 * ```ts
 * import { sampleTriplets } from "@cnnlab/metric-learning";
 * import { Rng } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const t = sampleTriplets([0, 0, 1, 1], new Rng(1));
 * assert.equal(t.anchor.length, 4);
 * ```
 */
export function sampleTriplets(labels: ArrayLike<number>, rng: Rng): Triplets {
  const n = labels.length;
  const a: number[] = [], p: number[] = [], neg: number[] = [];
  const classes = byClass(labels);
  if (classes.size < 2) throw new RangeError(`Cannot form triplets: the batch holds one class only`);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j || labels[i] !== labels[j]) continue;
      let k: number;
      do k = rng.int(n); while (labels[k] === labels[i]);
      a.push(i);
      p.push(j);
      neg.push(k);
    }
  }
  if (a.length === 0) throw new RangeError(`Cannot form triplets: no class has two examples in this batch`);
  return { anchor: Int32Array.from(a), positive: Int32Array.from(p), negative: Int32Array.from(neg) };
}
