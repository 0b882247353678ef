import assert from "node:assert/strict";
import { loadEmbeddedDigits, readEmbeddedSplit, stratifiedSplit } from "./embedded.ts";

const PIXELS = 28 * 28;

/** One string per digit: its pixels' bytes in hex, so digits can be compared across splits. */
function keys(images: Float32Array): string[] {
  const bytes = new Uint8Array(images.buffer, images.byteOffset, images.byteLength);
  const out: string[] = [];
  for (let i = 0; i < images.length / PIXELS; i++) {
    const row = bytes.subarray(i * PIXELS * 4, (i + 1) * PIXELS * 4);
    out.push(Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}

function classCounts(labels: Int32Array): number[] {
  const counts = new Array(10).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

Deno.test("loadEmbeddedDigits() parses 10,000 digits once, sorted by class, values in [0, 1]", async () => {
  const [a, b] = await Promise.all([loadEmbeddedDigits(), loadEmbeddedDigits()]);
  assert.equal(a, b);
  assert.equal(a, await loadEmbeddedDigits());
  assert.equal(a.size, 10_000);
  assert.equal(a.images.length, 10_000 * PIXELS);
  assert.ok(a.labels.every((l, i) => i === 0 || l >= a.labels[i - 1]));
  assert.ok(a.images.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(classCounts(a.labels), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
});

Deno.test("readEmbeddedSplit() gives 8,000 train and 2,000 test digits", async () => {
  const [train, test] = await Promise.all([readEmbeddedSplit("train"), readEmbeddedSplit("test")]);
  assert.deepEqual([train.size, train.labels.length, train.images.length], [8000, 8000, 8000 * PIXELS]);
  assert.deepEqual([test.size, test.labels.length, test.images.length], [2000, 2000, 2000 * PIXELS]);
  assert.ok(train.images.every((v) => v >= 0 && v <= 1));
  assert.ok(test.images.every((v) => v >= 0 && v <= 1));
});

Deno.test("readEmbeddedSplit() keeps 20% ± 1 of every class for test", async () => {
  const all = classCounts((await loadEmbeddedDigits()).labels);
  const test = classCounts((await readEmbeddedSplit("test")).labels);
  const train = classCounts((await readEmbeddedSplit("train")).labels);
  for (let c = 0; c < 10; c++) {
    assert.ok(Math.abs(test[c] - all[c] * 0.2) <= 1, `class ${c}: ${test[c]} of ${all[c]}`);
    assert.equal(train[c] + test[c], all[c]);
  }
});

Deno.test("readEmbeddedSplit() puts no digit in both splits", async () => {
  const train = new Set(keys((await readEmbeddedSplit("train")).images));
  const test = keys((await readEmbeddedSplit("test")).images);
  assert.equal(train.size, 8000);
  assert.equal(new Set(test).size, 2000);
  assert.equal(test.filter((k) => train.has(k)).length, 0);
});

Deno.test("readEmbeddedSplit() is the same on every load, in fresh arrays", async () => {
  const a = await readEmbeddedSplit("test");
  const b = await readEmbeddedSplit("test");
  assert.notEqual(a.images, b.images);
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.images, b.images);
  a.images.fill(7);
  assert.ok((await readEmbeddedSplit("test")).images.every((v) => v <= 1));
});

Deno.test("readEmbeddedSplit() interleaves classes in the train split", async () => {
  const { labels } = await readEmbeddedSplit("train", { limit: 100 });
  assert.equal(labels.length, 100);
  assert.equal(new Set(labels).size, 10);
  let changes = 0;
  for (let i = 1; i < labels.length; i++) if (labels[i] !== labels[i - 1]) changes++;
  assert.ok(changes > 50, `only ${changes} class changes in the first 100 digits`);
});

Deno.test("readEmbeddedSplit() with limit keeps the first digits of the split", async () => {
  const full = await readEmbeddedSplit("train");
  const head = await readEmbeddedSplit("train", { limit: 10 });
  assert.deepEqual(head.labels, full.labels.subarray(0, 10));
  assert.deepEqual(head.images, full.images.subarray(0, 10 * PIXELS));
  await assert.rejects(readEmbeddedSplit("train", { limit: 1.5 }), RangeError);
  await assert.rejects(readEmbeddedSplit("dev" as "train"), RangeError);
});

Deno.test("stratifiedSplit() hits the test total exactly, by largest remainder", () => {
  // Classes of 3, 3 and 4 with 0.5: quotas 1.5, 1.5, 2 → floors 1, 1, 2 and one place left for class 0.
  const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
  const { train, test } = stratifiedSplit(labels, { testFraction: 0.5, seed: 3 });
  assert.equal(test.length, 5);
  assert.deepEqual([...test].map((i) => labels[i]).sort(), [0, 0, 1, 2, 2]);
  assert.deepEqual([...train, ...test].sort((a, b) => a - b), labels.map((_, i) => i));
});

Deno.test("stratifiedSplit() depends on the seed only", () => {
  const labels = Array.from({ length: 200 }, (_, i) => i % 7);
  assert.deepEqual(stratifiedSplit(labels, { seed: 5 }), stratifiedSplit(labels, { seed: 5 }));
  assert.notDeepEqual(stratifiedSplit(labels, { seed: 5 }).test, stratifiedSplit(labels, { seed: 6 }).test);
  assert.throws(() => stratifiedSplit(labels, { testFraction: 1 }), RangeError);
  assert.throws(() => stratifiedSplit(labels, { seed: 0.5 }), RangeError);
});
