import { embeddingMetrics, Registry, Rng } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";

const device = await new Registry().use(cpu).device("cpu");

Deno.test("embeddingMetrics() Recall@1 and histograms match a naive loop written here", () => {
  const rng = new Rng(4);
  const n = 60, d = 5;
  const labels = Int32Array.from({ length: n }, () => rng.int(4));
  const e = Float32Array.from({ length: n * d }, (_, i) => labels[Math.floor(i / d)] * 0.5 + rng.normal());
  const dist = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (e[i * d + k] - e[j * d + k]) ** 2;
    return Math.sqrt(s);
  };
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && (best < 0 || dist(i, j) < dist(i, best))) best = j;
    if (labels[best] === labels[i]) correct++;
  }
  const m = embeddingMetrics(device, e, labels, { bins: 10 });
  assert.equal(m.recallAt1, correct / n);
  assert.ok(Math.abs(m.positive.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(Math.abs(m.negative.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.equal(m.binEdges.length, 11);
  assert.throws(() => embeddingMetrics(device, new Float32Array(3), [0]), TypeError);
});

Deno.test("embeddingMetrics() with the cosine metric ignores each row's length", () => {
  // Class 0 points along x, class 1 along y, at very different lengths: Euclidean neighbours mix
  // classes (the short rows are all near the origin), cosine neighbours do not.
  const e = new Float32Array([0.01, 0, 10, 0.5, 0, 0.01, 0.5, 10]);
  const labels = [0, 0, 1, 1];
  assert.equal(embeddingMetrics(device, e, labels, { metric: "cosine" }).recallAt1, 1);
  assert.ok(embeddingMetrics(device, e, labels).recallAt1 < 1);
});
