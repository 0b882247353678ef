import { Registry } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import plugin from "./mod.ts";

Deno.test("@cnnlab/losses plugin: name equals deno.json name and it registers its loss, ops and kernels", async () => {
  const meta = JSON.parse(await Deno.readTextFile(new URL("./deno.json", import.meta.url)));
  assert.equal(plugin.name, meta.name);
  assert.equal(plugin.version, meta.version);
  const registry = new Registry().use(cpu).use(plugin);
  const listing = registry.list().find((p) => p.name === "@cnnlab/losses")!;
  assert.deepEqual(listing.provides.losses, ["softmaxCrossEntropy"]);
  assert.deepEqual(listing.provides.ops, ["softmaxCrossEntropy", "softmaxCrossEntropyGrad"]);
  assert.ok(registry.hasKernel("softmaxCrossEntropy", "cpu"));
  assert.ok(registry.hasKernel("softmaxCrossEntropyGrad", "cpu"));
});
