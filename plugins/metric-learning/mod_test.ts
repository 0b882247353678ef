import plugin from "./mod.ts";
import assert from "node:assert/strict";

Deno.test("metric-learning plugin name and version equal deno.json's", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("./deno.json", import.meta.url)));
  assert.equal(plugin.name, config.name);
  assert.equal(plugin.version, config.version);
});
