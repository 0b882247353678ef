/**
 * `@cnnlab/dense`: the fully connected layer `dense`, `flatten` and inverted `dropout` for
 * `@cnnlab/core`. All three are built from core primitive ops (`matmul`, `add`, `reshape`, `mul`),
 * so the plugin brings no ops or kernels of its own and runs on any backend that has the primitives.
 *
 * @example A classifier head
 * ```ts
 * import { Model, Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import densePlugin from "@cnnlab/dense";
 * import assert from "node:assert/strict";
 * const registry = new Registry().use(cpu).use(densePlugin);
 * const device = await registry.device("cpu");
 * const model = new Model(
 *   { input: [3, 4, 4], layers: [{ type: "flatten" }, { type: "dropout", rate: 0.2 }, { type: "dense", units: 10 }] },
 *   { registry, device, rng: new Rng(1) },
 * );
 * assert.equal(model.summary().totalParameters, 48 * 10 + 10);
 * const y = model.forward(device.zeros([2, 3, 4, 4]), { training: false, rng: new Rng(1) });
 * assert.deepEqual(y.shape, [2, 10]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { dense } from "./dense.ts";
import { flatten } from "./flatten.ts";
import { dropout } from "./dropout.ts";

export { dense, type DenseOptions, resolveDenseOptions } from "./dense.ts";
export { flatten, type FlattenOptions } from "./flatten.ts";
export { dropout, type DropoutOptions, resolveDropoutOptions } from "./dropout.ts";

/** The dense plugin: layers `dense`, `flatten` and `dropout`. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/dense",
  version: "0.1.0",
  provides: { layers: { dense, flatten, dropout } },
});
export default plugin;
