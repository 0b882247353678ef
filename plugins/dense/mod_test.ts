import { Model, Registry, Rng } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import densePlugin from "./mod.ts";
import meta from "./deno.json" with { type: "json" };

Deno.test("dense plugin: name and version equal deno.json's", () => {
  assert.equal(densePlugin.name, meta.name);
  assert.equal(densePlugin.version, meta.version);
});

Deno.test("dense plugin: a model of flatten, dense and dropout builds, sums FLOPs and names flatten on a bad spec", async () => {
  const registry = new Registry().use(cpu).use(densePlugin);
  const device = await registry.device("cpu");
  const rng = new Rng(1);
  const model = new Model({
    input: [2, 3, 3],
    layers: [{ type: "flatten" }, { type: "dense", units: 5 }, { type: "dropout" }, {
      type: "dense",
      units: 2,
      bias: false,
    }],
  }, { registry, device, rng });
  const summary = model.summary();
  assert.deepEqual(summary.layers.map((l) => l.outputShape), [[18], [5], [5], [2]]);
  assert.equal(summary.totalParameters, 18 * 5 + 5 + 5 * 2);
  assert.deepEqual([summary.layers[0].flops, summary.layers[1].flops, summary.layers[3].flops], [
    0,
    2 * 18 * 5,
    2 * 5 * 2,
  ]);
  assert.deepEqual(model.forward(device.zeros([4, 2, 3, 3]), { training: true, rng }).shape, [4, 2]);
  assert.throws(
    () => new Model({ input: [2, 3, 3], layers: [{ type: "dense", units: 5 }] }, { registry, device, rng }),
    /add a flatten layer/,
  );
});
