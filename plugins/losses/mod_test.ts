import { Registry } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import plugin from "./mod.ts";

Deno.test("@cnnlab/losses plugin: name equals deno.json name and it registers its losses, ops and kernels", async () => {
  const meta = JSON.parse(await Deno.readTextFile(new URL("./deno.json", import.meta.url)));
  assert.equal(plugin.name, meta.name);
  assert.equal(plugin.version, meta.version);
  const registry = new Registry().use(cpu).use(plugin);
  const listing = registry.list().find((p) => p.name === "@cnnlab/losses")!;
  assert.deepEqual(listing.provides.losses, ["softmaxCrossEntropy", "hingeL1", "hingeL2", "klDivergence"]);
  const ops = [
    "softmaxCrossEntropy",
    "softmaxCrossEntropyGrad",
    "multiClassHinge",
    "multiClassHingeGrad",
    "klDivergence",
    "klDivergenceGrad",
  ];
  assert.deepEqual(listing.provides.ops, ops);
  for (const op of ops) {
    assert.ok(registry.hasKernel(op, "cpu"), `cpu kernel for ${op}`);
    assert.ok(registry.hasKernel(op, "webgpu"), `webgpu kernel for ${op}`);
  }
  assert.equal(plugin.kernels!.length, 2 * ops.length);
});
