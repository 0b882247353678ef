import { Model, Registry, Rng } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import pooling from "./mod.ts";
import denoJson from "./deno.json" with { type: "json" };

Deno.test("plugin name and version equal deno.json", () => {
  assert.equal(pooling.name, denoJson.name);
  assert.equal(pooling.version, denoJson.version);
});

Deno.test("plugin registers five layers and a CPU kernel for each of its ops", () => {
  const registry = new Registry().use(cpu).use(pooling);
  for (const type of ["maxPool2d", "minPool2d", "avgPool2d", "lpPool2d", "mixedPool2d"]) {
    assert.ok(registry.names("layers").includes(type), type);
  }
  for (const op of pooling.provides.ops ?? []) assert.ok(registry.hasKernel(op.name, "cpu"), op.name);
});

Deno.test("plugin registers a WebGPU kernel for each of its ops", () => {
  const registry = new Registry().use(pooling);
  for (const op of pooling.provides.ops ?? []) assert.ok(registry.hasKernel(op.name, "webgpu"), op.name);
});

Deno.test("pooling layers build from a JSON model spec, and a too-small input fails before any compute", async () => {
  const registry = new Registry().use(cpu).use(pooling);
  const device = await registry.device("cpu");
  const layers = [
    { type: "maxPool2d", poolSize: 2 },
    { type: "lpPool2d", poolSize: 3, stride: 1, padding: 1, p: 2 },
    { type: "mixedPool2d", poolSize: 2, mode: "uniform" },
  ];
  const model = new Model({ input: [2, 8, 8], layers }, { registry, device, rng: new Rng(1) });
  const y = model.forward(device.fill([3, 2, 8, 8], 1), { training: true, rng: new Rng(2) });
  assert.deepEqual(y.shape, [3, 2, 2, 2]);
  assert.throws(
    () => new Model({ input: [2, 3, 3], layers }, { registry, device, rng: new Rng(1) }),
    /mixedPool2d/,
  );
});
