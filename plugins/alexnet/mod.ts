/**
 * `@cnnlab/alexnet`: the AlexNet model, registered as `alexnet` (single tower, 62.4M parameters,
 * about 2.27 GFLOP per 227² image) and `alexnet-split` (the paper's two-device form with grouped
 * conv2, conv4 and conv5). Both are built from the `conv2d`, `relu`, `maxPool2d`, `flatten`, `dense`
 * and `dropout` layers of the default plugins; local response normalisation is omitted.
 *
 * @example The model specs
 * ```ts
 * import plugin from "@cnnlab/alexnet";
 * import assert from "node:assert/strict";
 * assert.equal(plugin.provides.models!.alexnet({}).layers.length, 21);
 * assert.equal(plugin.provides.models!["alexnet-split"]({}).name, "alexnet-split");
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { alexnet, type AlexnetOptions } from "./alexnet.ts";

export {
  alexnet,
  type AlexnetOptions,
  resolveAlexnetOptions,
  type ResolvedAlexnetOptions,
} from "./alexnet.ts";

/**
 * AlexNet in the paper's two-device form: `alexnet({ ...options, split: true })`.
 *
 * @param options Input shape, classes and dropout rate, as for `alexnet`.
 * @returns The model spec, named `alexnet-split`.
 * @throws {RangeError} If an option is unknown or out of range.
 * @example Grouped convolutions
 * ```ts
 * import { alexnetSplit } from "@cnnlab/alexnet";
 * import assert from "node:assert/strict";
 * assert.equal(alexnetSplit({}).layers.find((l) => l.name === "conv2")?.groups, 2);
 * ```
 */
export function alexnetSplit(options: AlexnetOptions = {}): ReturnType<typeof alexnet> {
  return alexnet({ ...options, split: true });
}

/** The AlexNet model plugin: models `alexnet` and `alexnet-split`. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/alexnet",
  version: "0.1.0",
  provides: { models: { alexnet, "alexnet-split": alexnetSplit } },
});
export default plugin;
