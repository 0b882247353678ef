import { Registry } from "@cnnlab/core";
import assert from "node:assert/strict";
import conv from "./mod.ts";

Deno.test("@cnnlab/conv plugin: its name matches deno.json and it registers its layers, ops, CPU and WebGPU kernels", async () => {
  const meta = JSON.parse(await Deno.readTextFile(new URL("./deno.json", import.meta.url)));
  assert.equal(conv.name, meta.name);
  assert.equal(conv.version, meta.version);
  const registry = new Registry().use(conv);
  assert.equal(typeof registry.layer("conv2d"), "function");
  assert.equal(typeof registry.layer("conv1d"), "function");
  for (const op of ["conv2d", "conv2dBackpropInput", "conv2dBackpropFilter"]) {
    assert.equal(registry.kernel(op, "cpu").op, op);
    assert.equal(registry.kernel(op, "webgpu").op, op);
  }
});
