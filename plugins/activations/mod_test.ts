import { Registry } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import activations from "./mod.ts";
import meta from "./deno.json" with { type: "json" };

Deno.test("activations plugin: name and version equal deno.json's", () => {
  assert.equal(activations.name, meta.name);
  assert.equal(activations.version, meta.version);
});

Deno.test("activations plugin: every op it provides has exactly one CPU and one WebGPU kernel", () => {
  const registry = new Registry().use(cpu).use(activations);
  const names = activations.provides.ops!.map((op) => op.name);
  for (const backend of ["cpu", "webgpu"]) {
    assert.deepEqual(
      [...names].sort(),
      activations.kernels!.filter((k) => k.backend === backend).map((k) => k.op).sort(),
      backend,
    );
  }
  assert.equal(activations.kernels!.length, 2 * names.length);
  for (const name of names) assert.ok(registry.hasKernel(name, "cpu"), name);
  assert.deepEqual(Object.keys(activations.provides.layers!), [
    "relu",
    "leakyRelu",
    "elu",
    "prelu",
    "maxout",
  ]);
});
