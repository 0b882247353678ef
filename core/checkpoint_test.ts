import { loadCheckpoint, Registry, restoreTensors, saveCheckpoint } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";

const device = await new Registry().use(cpu).device("cpu");
const spec = { name: "m", input: [2], layers: [{ type: "dense", units: 1 }] };

Deno.test("saveCheckpoint()/loadCheckpoint() round-trip tensors, scalars and meta", async () => {
  const dir = await Deno.makeTempDir();
  const w = device.tensor([1, -2, 3.5, 4], [2, 2]);
  await saveCheckpoint(`${dir}/ckpt`, {
    spec,
    tensors: new Map([["w", w]]),
    scalars: { step: 7 },
    meta: { epoch: 2 },
  });
  const loaded = await loadCheckpoint(`${dir}/ckpt`);
  assert.deepEqual(loaded.spec, spec);
  assert.deepEqual([...loaded.tensors.get("w")!.values], [1, -2, 3.5, 4]);
  assert.deepEqual(loaded.scalars, { step: 7 });
  assert.deepEqual(loaded.meta, { epoch: 2 });
  const target = device.zeros([2, 2]);
  restoreTensors(new Map([["w", target]]), loaded.tensors, "test");
  assert.deepEqual([...target.dataSync()], [1, -2, 3.5, 4]);
  assert.throws(
    () => restoreTensors(new Map([["w", device.zeros([3])]]), loaded.tensors, "test"),
    /does not match/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("saveCheckpoint() replaces an old checkpoint whole and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(`${dir}/ckpt`, { spec, tensors: new Map([["w", device.tensor([1], [1])]]) });
  await saveCheckpoint(`${dir}/ckpt`, { spec, tensors: new Map([["w", device.tensor([2], [1])]]) });
  assert.deepEqual([...(await loadCheckpoint(`${dir}/ckpt`)).tensors.get("w")!.values], [2]);
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepEqual(names, ["ckpt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("saveCheckpoint() into an unwritable place fails with the path and keeps nothing half-written", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/file`, "x");
  await assert.rejects(
    saveCheckpoint(`${dir}/file/ckpt`, { spec, tensors: new Map([["w", device.tensor([1], [1])]]) }),
    /Cannot write .*file\/ckpt/,
  );
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepEqual(names, ["file"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCheckpoint() rejects a truncated data file, naming it", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(`${dir}/ckpt`, { spec, tensors: new Map([["w", device.tensor([1, 2, 3, 4], [4])]]) });
  const bin = await Deno.readFile(`${dir}/ckpt/tensors.bin`);
  await Deno.writeFile(`${dir}/ckpt/tensors.bin`, bin.slice(0, 8));
  await assert.rejects(loadCheckpoint(`${dir}/ckpt`), /tensors\.bin is truncated/);
  await Deno.writeTextFile(`${dir}/ckpt/tensors.json`, "{");
  await assert.rejects(loadCheckpoint(`${dir}/ckpt`), /tensors\.json is not valid JSON/);
  await Deno.remove(dir, { recursive: true });
});
