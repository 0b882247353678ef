import { balancedBatches, batches, type Dataset, Rng } from "@cnnlab/core";
import assert from "node:assert/strict";

function toy(n: number, classes: number): Dataset {
  return {
    name: "toy",
    split: "train",
    inputShape: [2],
    numClasses: classes,
    size: n,
    source: "test",
    images: Float32Array.from({ length: 2 * n }, (_, i) => i),
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
  };
}

Deno.test("batches() visits every example once per epoch, shuffled by the RNG", () => {
  const ds = toy(10, 3);
  const seen = [...batches(ds, { batchSize: 4, rng: new Rng(1) })].flatMap((b) => [...b.indices]);
  assert.deepEqual([...seen].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.notDeepEqual(seen, [...Array(10).keys()]);
  const b = [...batches(ds, { batchSize: 4 })][1];
  assert.deepEqual([...b.x], [8, 9, 10, 11, 12, 13, 14, 15]);
  assert.deepEqual([...b.y], [1, 2, 0, 1]);
});

Deno.test("balancedBatches() holds K examples of each of P classes, with matching images", () => {
  const ds = toy(200, 10);
  const all = [...balancedBatches(ds, { batchSize: 40, rng: new Rng(2) })];
  assert.equal(all.length, 5);
  for (const b of all) {
    assert.equal(b.count, 40);
    const counts = new Map<number, number>();
    for (const y of b.y) counts.set(y, (counts.get(y) ?? 0) + 1);
    assert.equal(counts.size, 10);
    assert.ok([...counts.values()].every((c) => c === 4));
    for (let i = 0; i < b.count; i++) {
      assert.equal(b.y[i], ds.labels[b.indices[i]]);
      assert.equal(b.x[2 * i], 2 * b.indices[i]);
    }
  }
  const again = [...balancedBatches(ds, { batchSize: 40, rng: new Rng(2) })];
  assert.deepEqual(again.map((b) => [...b.indices]), all.map((b) => [...b.indices]));
});

Deno.test("balancedBatches() refuses batches that cannot hold two examples of two classes", () => {
  assert.throws(
    () => [...balancedBatches(toy(20, 10), { batchSize: 3, rng: new Rng(1) })],
    /use a larger --batch-size/,
  );
  assert.throws(() => [...balancedBatches(toy(5, 5), { batchSize: 10, rng: new Rng(1) })], /class-balanced/);
});
