/**
 * `@cnnlab/merge`: layers that merge branches of a graph model; `add` for now.
 *
 * @example Registered names
 * ```ts
 * import plugin from "@cnnlab/merge";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Object.keys(plugin.provides.layers!), ["add"]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { add } from "./add.ts";

export { add, type AddOptions } from "./add.ts";

/** The merge-layer plugin. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/merge",
  version: "0.1.0",
  provides: { layers: { add } },
});
export default plugin;
