import { defineKernel, definePlugin, loadPlugin, PluginError, Registry } from "@cnnlab/core";
import assert from "node:assert/strict";

const here = new URL(".", import.meta.url).pathname;

Deno.test("loadPlugin() names a missing module", async () => {
  await assert.rejects(
    loadPlugin(`${here}testdata/missing.ts`),
    (e: Error) => e instanceof PluginError && /Cannot load plugin ".*missing\.ts"/.test(e.message),
  );
});

Deno.test("loadPlugin() rejects a module without a default export", async () => {
  await assert.rejects(loadPlugin(`${here}testdata/no_default.ts`), /no default export/);
});

Deno.test("loadPlugin() rejects a default export that is not a plugin", async () => {
  await assert.rejects(loadPlugin(`${here}testdata/wrong_shape.ts`), /not a plugin declaration/);
});

Deno.test("loadPlugin() rejects a plugin built for another core version", async () => {
  await assert.rejects(loadPlugin(`${here}testdata/old_core.ts`), /built for @cnnlab\/core 9\.0\.0/);
});

Deno.test("loadPlugin() reports a module that throws while loading", async () => {
  await assert.rejects(loadPlugin(`file://${here}testdata/throws.ts`), /broken on purpose/);
});

Deno.test("loadPlugin() loads a valid plugin from a relative path and a file: URL", async () => {
  const rel = await loadPlugin(`./core/testdata/extra_model.ts`).catch(() =>
    loadPlugin(`${here}testdata/extra_model.ts`)
  );
  assert.equal(rel.name, "@test/extra");
  const byUrl = await loadPlugin(`file://${here}testdata/extra_model.ts`);
  assert.deepEqual(new Registry().use(byUrl).names("models"), ["tiny"]);
});

Deno.test("Registry.use() names both plugins on a duplicate layer, and registers nothing on failure", () => {
  const f = () => ({}) as never;
  const a = definePlugin({ name: "@x/a", version: "1.0.0", provides: { layers: { relu: f } } });
  const b = definePlugin({ name: "@x/b", version: "1.0.0", provides: { layers: { elu: f, relu: f } } });
  const r = new Registry().use(a);
  assert.throws(
    () => r.use(b),
    (e: Error) => /"@x\/b"/.test(e.message) && /"@x\/a"/.test(e.message) && /"relu"/.test(e.message),
  );
  assert.deepEqual(r.names("layers"), ["relu"]);
  assert.equal(r.plugins.length, 1);
});

Deno.test("Registry.use() names both plugins on a duplicate kernel", () => {
  const k = defineKernel<Float32Array, never>({ op: "foo", backend: "cpu", run: ([x]) => x.storage });
  const a = definePlugin({ name: "@x/a", version: "1.0.0", provides: {}, kernels: [k] });
  const b = definePlugin({ name: "@x/b", version: "1.0.0", provides: {}, kernels: [k] });
  assert.throws(
    () => new Registry().use(a).use(b),
    /kernel "foo" for backend "cpu" from plugin "@x\/b": plugin "@x\/a"/,
  );
});

Deno.test("Registry lookups of unknown names list what is registered", () => {
  const r = new Registry().use(
    definePlugin({ name: "@x/a", version: "1", provides: { models: { m: () => ({ layers: [] }) } } }),
  );
  assert.throws(() => r.model("nope"), /Cannot find model "nope".*registered: m/);
  assert.throws(() => r.kernel("conv2d", "cpu"), /Cannot run op "conv2d" on backend "cpu"/);
});

Deno.test("Registry.list() groups components by plugin", () => {
  const r = new Registry().use(
    definePlugin({ name: "@x/a", version: "2.0.0", provides: { models: { m: () => ({ layers: [] }) } } }),
  );
  assert.deepEqual(r.list(), [{
    name: "@x/a",
    version: "2.0.0",
    provides: { layers: [], losses: [], ops: [], backends: [], datasets: [], models: ["m"], optimizers: [] },
  }]);
});
