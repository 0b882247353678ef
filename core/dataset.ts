/**
 * The Dataset contract and batching.
 * @module
 */
import type { Rng } from "./rng.ts";
import { type Shape, sizeOf } from "./shape.ts";

/** Options every dataset accepts. */
export interface DatasetOptions {
  /** A directory or file to read instead of the built-in data. */
  readonly path?: string;
  /** Which split. */
  readonly split: "train" | "test";
  /** Keep only the first `limit` examples (after any fixed split). */
  readonly limit?: number;
  /** Seed for any split the dataset makes itself. */
  readonly seed?: number;
}

/** An in-memory labelled image set, one split. */
export interface Dataset {
  /** Registry name. */
  readonly name: string;
  /** Which split this is. */
  readonly split: "train" | "test";
  /** Shape of one example, `[channels, height, width]`. */
  readonly inputShape: Shape;
  /** Number of classes. */
  readonly numClasses: number;
  /** Number of examples. */
  readonly size: number;
  /** Example values, `size × inputShape` floats, row-major. */
  readonly images: Float32Array;
  /** Class index per example. */
  readonly labels: Int32Array;
  /** Where the data came from (a path or a package), for reports. */
  readonly source: string;
  /** Optional class names. */
  readonly classNames?: readonly string[];
}

/** Opens a dataset split. */
export type DatasetFactory = (options: DatasetOptions) => Promise<Dataset>;

/** One batch of examples. */
export interface Batch {
  /** `[count, ...inputShape]` values. */
  readonly x: Float32Array;
  /** Class indices as float32 (tensors are float32). */
  readonly y: Float32Array;
  /** Number of examples in this batch. */
  readonly count: number;
  /** Dataset indices of the examples. */
  readonly indices: Int32Array;
}

/**
 * Cuts a dataset into batches, shuffled by a seeded RNG when given one.
 *
 * @param ds The dataset.
 * @param options Batch size, and the RNG that shuffles (omit for dataset order).
 * @returns An iterator over batches; the last may be smaller.
 * @throws {RangeError} If `batchSize` is not a positive integer.
 * @example Ten examples in batches of four
 * ```ts
 * import { batches } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const ds = { name: "toy", split: "train" as const, inputShape: [1], numClasses: 2, size: 10, source: "test",
 *   images: new Float32Array(10), labels: new Int32Array(10) };
 * assert.deepEqual([...batches(ds, { batchSize: 4 })].map((b) => b.count), [4, 4, 2]);
 * ```
 */
export function* batches(ds: Dataset, options: { batchSize: number; rng?: Rng }): Generator<Batch> {
  const { batchSize, rng } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot batch dataset "${ds.name}": batch size ${batchSize} is not a positive integer`,
    );
  }
  const order = Array.from({ length: ds.size }, (_, i) => i);
  if (rng) rng.shuffle(order);
  const per = sizeOf(ds.inputShape);
  for (let start = 0; start < ds.size; start += batchSize) {
    const count = Math.min(batchSize, ds.size - start);
    const x = new Float32Array(count * per);
    const y = new Float32Array(count);
    const indices = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const idx = order[start + i];
      indices[i] = idx;
      x.set(ds.images.subarray(idx * per, (idx + 1) * per), i * per);
      y[i] = ds.labels[idx];
    }
    yield { x, y, count, indices };
  }
}

/**
 * Cuts a dataset into class-balanced batches ("P×K" sampling, as metric learning needs): each batch
 * holds `samplesPerClass` examples of each of `classesPerBatch` classes drawn at random, so every batch
 * has positive and negative pairs. An epoch has as many batches as plain batching would.
 *
 * @param ds The dataset.
 * @param options Batch size, the RNG, and the classes per batch (default: all classes, capped at batchSize / 2).
 * @returns An iterator over batches of `classesPerBatch × floor(batchSize / classesPerBatch)` examples.
 * @throws {RangeError} If a batch cannot hold two examples of two classes.
 * @example Ten classes of two per batch
 * ```ts
 * import { balancedBatches, Rng } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const labels = Int32Array.from({ length: 100 }, (_, i) => i % 10);
 * const ds = { name: "toy", split: "train" as const, inputShape: [1], numClasses: 10, size: 100, source: "test",
 *   images: new Float32Array(100), labels };
 * const [first] = balancedBatches(ds, { batchSize: 20, rng: new Rng(1) });
 * assert.deepEqual(new Set(first.y).size, 10);
 * ```
 */
export function* balancedBatches(
  ds: Dataset,
  options: { batchSize: number; rng: Rng; classesPerBatch?: number },
): Generator<Batch> {
  const { batchSize, rng } = options;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < ds.size; i++) {
    const list = byClass.get(ds.labels[i]) ?? [];
    list.push(i);
    byClass.set(ds.labels[i], list);
  }
  const classes = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= 2);
  const p = options.classesPerBatch ?? Math.min(classes.length, Math.floor(batchSize / 2));
  const k = Math.floor(batchSize / Math.max(p, 1));
  if (p < 2 || k < 2 || classes.length < p) {
    throw new RangeError(
      `Cannot form class-balanced batches of ${batchSize} from dataset "${ds.name}" (${classes.length} classes with two or more examples): each batch needs at least 2 examples of at least 2 classes; use a larger --batch-size`,
    );
  }
  const queues = new Map(classes.map((c) => [c, { order: rng.shuffle([...byClass.get(c)!]), next: 0 }]));
  const per = sizeOf(ds.inputShape);
  const steps = Math.ceil(ds.size / batchSize);
  for (let s = 0; s < steps; s++) {
    const chosen = rng.shuffle([...classes]).slice(0, p);
    const count = p * k;
    const x = new Float32Array(count * per), y = new Float32Array(count), indices = new Int32Array(count);
    let i = 0;
    for (const c of chosen) {
      const q = queues.get(c)!;
      for (let j = 0; j < k; j++, i++) {
        if (q.next === q.order.length) {
          rng.shuffle(q.order);
          q.next = 0;
        }
        const idx = q.order[q.next++];
        indices[i] = idx;
        x.set(ds.images.subarray(idx * per, (idx + 1) * per), i * per);
        y[i] = c;
      }
    }
    yield { x, y, count, indices };
  }
}
