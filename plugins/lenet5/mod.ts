/**
 * `@cnnlab/lenet5`: the LeNet-5 model, registered as `lenet5`, and its embedding form `lenet5-embed`.
 *
 * @example The model spec
 * ```ts
 * import plugin from "@cnnlab/lenet5";
 * import assert from "node:assert/strict";
 * assert.equal(plugin.provides.models!.lenet5({}).layers.length, 12);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { lenet5, lenet5Embed } from "./lenet5.ts";

export { lenet5, lenet5Embed, type Lenet5EmbedOptions, type Lenet5Options } from "./lenet5.ts";

/** The LeNet-5 model plugin. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/lenet5",
  version: "0.1.0",
  provides: { models: { lenet5, "lenet5-embed": lenet5Embed } },
});
export default plugin;
