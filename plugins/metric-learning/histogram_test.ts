import { Rng } from "@cnnlab/core";
import { assertClose, checkGradients } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import { histogram } from "./histogram.ts";
import { clustered, device } from "./_test_helpers.ts";

function naiveHistogramLoss(values: Float32Array, labels: Float32Array, dim: number, bins: number): number {
  const n = labels.length, step = 2 / (bins - 1);
  const unit = (i: number) => {
    const v = Array.from(values.subarray(i * dim, (i + 1) * dim));
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / norm);
  };
  const hp = new Array<number>(bins).fill(0), hn = new Array<number>(bins).fill(0);
  let np = 0, nn = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = unit(i), b = unit(j);
      const s = a.reduce((acc, x, k) => acc + x * b[k], 0);
      const h = labels[i] === labels[j] ? hp : hn;
      labels[i] === labels[j] ? np++ : nn++;
      for (let r = 0; r < bins; r++) h[r] += Math.max(0, 1 - Math.abs(s - (-1 + r * step)) / step);
    }
  }
  let loss = 0, cdf = 0;
  for (let r = 0; r < bins; r++) {
    cdf += hp[r] / np;
    loss += (hn[r] / nn) * cdf;
  }
  return loss;
}

Deno.test("histogram() matches a naive loop written here", () => {
  const rng = new Rng(7);
  const { values, labels } = clustered(rng, 12, 4, 3, 1.2);
  for (const bins of [5, 21, 101]) {
    const got = histogram({ bins }).compute(device.tensor(values, [12, 4]), device.tensor(labels, [12]));
    assertClose(got.dataSync(), [naiveHistogramLoss(values, labels, 4, bins)], { rtol: 1e-4, atol: 1e-6 });
  }
});

Deno.test("histogram() worked examples: separated classes cost 0, identical embeddings cost 1", () => {
  const labels = device.tensor([0, 0, 1, 1], [4]);
  assertClose(histogram({}).compute(device.tensor([1, 0, 1, 0, -1, 0, -1, 0], [4, 2]), labels).dataSync(), [
    0,
  ], { atol: 1e-6 });
  assertClose(
    histogram({}).compute(device.tensor([1, 1, 1, 1, 1, 1, 1, 1], [4, 2]), labels).dataSync(),
    [1],
    { atol: 1e-5 },
  );
});

Deno.test("histogram() central-difference gradient", () => {
  const rng = new Rng(8);
  const { values, labels } = clustered(rng, 8, 3, 2, 1.5);
  checkGradients(device, (x) => histogram({ bins: 11 }).compute(x, device.tensor(labels, [8])), [{
    values,
    shape: [8, 3],
  }], {
    rng,
    eps: 1e-3,
    label: "histogram",
  });
});

Deno.test("histogram() rejects batches without positive or negative pairs", () => {
  const x = device.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
  assert.throws(
    () => histogram({}).compute(x, device.tensor([0, 1, 2], [3])),
    /histogram loss: no positive pair/,
  );
  assert.throws(
    () => histogram({}).compute(x, device.tensor([4, 4, 4], [3])),
    /histogram loss: no negative pair/,
  );
  assert.throws(() => histogram({ bins: 2 }), RangeError);
});
