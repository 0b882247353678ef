import { Rng } from "@cnnlab/core";
import assert from "node:assert/strict";
import { samplePairs, sampleTriplets } from "./pairs.ts";

Deno.test("samplePairs() without a count takes every similar pair and as many distinct dissimilar ones", () => {
  const labels = Array.from({ length: 12 }, (_, i) => i % 3);
  const p = samplePairs(labels, new Rng(1));
  assert.equal(p.similar.length, 2 * 3 * 6);
  assert.equal(p.similar.reduce((s, v) => s + v, 0), 3 * 6);
  const seen = new Set<string>();
  for (let i = 0; i < p.first.length; i++) {
    assert.equal(labels[p.first[i]] === labels[p.second[i]], p.similar[i] === 1);
    const key = `${p.first[i]},${p.second[i]}`;
    assert.ok(!seen.has(key), `pair ${key} twice`);
    seen.add(key);
  }
});

Deno.test("samplePairs() with a count draws half similar, half dissimilar pairs with matching labels", () => {
  const labels = Array.from({ length: 40 }, (_, i) => i % 4);
  const p = samplePairs(labels, new Rng(1), 40);
  for (let i = 0; i < 40; i++) {
    assert.equal(labels[p.first[i]] === labels[p.second[i]], p.similar[i] === 1);
    if (p.similar[i]) assert.notEqual(p.first[i], p.second[i]);
  }
  assert.equal(p.similar.reduce((s, v) => s + v, 0), 20);
  assert.throws(() => samplePairs([3, 3, 3], new Rng(1)), /one class only/);
  assert.throws(() => samplePairs([0, 1, 2], new Rng(1)), /no class has two examples/);
});

Deno.test("sampleTriplets() forms every anchor-positive pair with a negative of another class", () => {
  const labels = [0, 0, 0, 1, 1, 2];
  const t = sampleTriplets(labels, new Rng(2));
  assert.equal(t.anchor.length, 3 * 2 + 2 * 1);
  for (let i = 0; i < t.anchor.length; i++) {
    assert.equal(labels[t.anchor[i]], labels[t.positive[i]]);
    assert.notEqual(labels[t.anchor[i]], labels[t.negative[i]]);
  }
});
