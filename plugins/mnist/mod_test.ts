import assert from "node:assert/strict";
import { Registry } from "@cnnlab/core";
import meta from "./deno.json" with { type: "json" };
import plugin, { EMBEDDED_SOURCE, encodeIdx, mnist } from "./mod.ts";

Deno.test("plugin name and version equal deno.json's", () => {
  assert.equal(plugin.name, meta.name);
  assert.equal(plugin.version, meta.version);
});

Deno.test("plugin registers the dataset mnist", () => {
  assert.equal(new Registry().use(plugin).dataset("mnist"), mnist);
});

Deno.test("mnist() without a path serves the embedded split", async () => {
  const test = await mnist({ split: "test" });
  assert.equal(test.name, "mnist");
  assert.equal(test.split, "test");
  assert.deepEqual(test.inputShape, [1, 28, 28]);
  assert.equal(test.numClasses, 10);
  assert.equal(test.size, 2000);
  assert.equal(test.images.length, 2000 * 784);
  assert.equal(test.source, EMBEDDED_SOURCE);
  assert.equal(test.classNames?.length, 10);
  assert.equal((await mnist({ split: "train" })).size, 8000);
});

Deno.test("mnist() ignores the run's seed: the split is fixed", async () => {
  const a = await mnist({ split: "test", limit: 50, seed: 1 });
  const b = await mnist({ split: "test", limit: 50, seed: 2 });
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.images, b.images);
});

Deno.test("mnist() with limit keeps the first examples", async () => {
  const full = await mnist({ split: "train" });
  const head = await mnist({ split: "train", limit: 20 });
  assert.equal(head.size, 20);
  assert.deepEqual(head.labels, full.labels.subarray(0, 20));
});

Deno.test("mnist() with a path reads the IDX directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cnnlab_mnist_mod_" });
  try {
    await Deno.writeFile(
      `${dir}/t10k-images-idx3-ubyte`,
      encodeIdx([3, 28, 28], new Uint8Array(3 * 784).fill(255)),
    );
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, encodeIdx([3], [9, 8, 7]));
    const test = await mnist({ split: "test", path: dir, limit: 2 });
    assert.deepEqual([test.size, test.numClasses, test.source], [2, 10, dir]);
    assert.deepEqual(test.inputShape, [1, 28, 28]);
    assert.deepEqual([...test.labels], [9, 8]);
    assert.ok(test.images.every((v) => v === 1));
    await assert.rejects(
      mnist({ split: "train", path: dir }),
      /train-images-idx3-ubyte.*train-labels-idx1-ubyte/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mnist() rejects a bad split or limit", async () => {
  await assert.rejects(mnist({ split: "val" as "test" }), RangeError);
  await assert.rejects(mnist({ split: "test", limit: 0 }), RangeError);
  await assert.rejects(mnist({ split: "test", limit: -3, path: "/nowhere" }), RangeError);
});
