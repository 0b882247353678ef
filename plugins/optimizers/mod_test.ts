import { Registry } from "@cnnlab/core";
import assert from "node:assert/strict";
import plugin from "./mod.ts";

Deno.test("@cnnlab/optimizers plugin: name equals deno.json name and it registers sgd and adam", async () => {
  const meta = JSON.parse(await Deno.readTextFile(new URL("./deno.json", import.meta.url)));
  assert.equal(plugin.name, meta.name);
  assert.equal(plugin.version, meta.version);
  const registry = new Registry().use(plugin);
  assert.deepEqual(registry.names("optimizers"), ["sgd", "adam"]);
  for (const name of ["sgd", "adam"]) {
    const opt = registry.optimizer(name)({ lr: 0.5 });
    assert.equal(opt.name, name);
    assert.deepEqual(opt.options, { lr: 0.5 });
    assert.equal(opt.learningRate, 0.5);
  }
});
