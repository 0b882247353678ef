import { Rng } from "@cnnlab/core";
import { assertClose, checkGradients, uniform } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import { triplet } from "./triplet.ts";
import { clustered, device, dist } from "./_test_helpers.ts";

Deno.test("triplet() on explicit triplets equals a worked example, plain and squared", () => {
  // d(a,p) = 1, d(a,n) = 2: plain max(0, 1 − 2 + 1.5) = 0.5; squared max(0, 1 − 4 + 1.5) = 0.
  // Second triplet d(a,p) = 2, d(a,n) = 1: plain 2 − 1 + 1.5 = 2.5; squared 4 − 1 + 1.5 = 4.5.
  const a = device.tensor([0, 0, 0, 0], [2, 2]);
  const p = device.tensor([1, 0, 0, 2], [2, 2]);
  const n = device.tensor([0, 2, 1, 0], [2, 2]);
  const y = device.tensor([0, 0], [2]);
  assertClose(triplet({ margin: 1.5 }).compute([a, p, n], y).dataSync(), [(0.5 + 2.5) / 2]);
  assertClose(triplet({ margin: 1.5, squared: true }).compute([a, p, n], y).dataSync(), [(0 + 4.5) / 2]);
});

Deno.test("triplet() semi-hard mining matches a naive loop written here", () => {
  const rng = new Rng(5);
  const n = 15, d = 4, m = 0.8;
  const { values, labels } = clustered(rng, n, d, 3, 1.0);
  let sum = 0, count = 0;
  for (let a = 0; a < n; a++) {
    for (let p = 0; p < n; p++) {
      if (a === p || labels[a] !== labels[p]) continue;
      const dap = dist(values, d, a, p);
      let outside = Infinity, inside = -Infinity;
      for (let k = 0; k < n; k++) {
        if (labels[k] === labels[a]) continue;
        const dan = dist(values, d, a, k);
        if (dan >= dap) outside = Math.min(outside, dan);
        inside = Math.max(inside, dan);
      }
      const dn = outside < Infinity ? outside : inside;
      sum += Math.max(0, dap - dn + m);
      count++;
    }
  }
  const got = triplet({ margin: m }).compute(device.tensor(values, [n, d]), device.tensor(labels, [n]), {
    training: true,
    rng,
    labels,
  });
  assertClose(got.dataSync(), [sum / count], { rtol: 1e-4, atol: 1e-5 });
});

Deno.test("triplet() central-difference gradients: explicit, semi-hard and random mining", () => {
  const rng = new Rng(6);
  const y = device.tensor([0, 0, 0], [3]);
  checkGradients(device, (a, p, n) => triplet({ margin: 2 }).compute([a, p, n], y), [
    { values: uniform(rng, 6), shape: [3, 2] },
    { values: uniform(rng, 6), shape: [3, 2] },
    { values: uniform(rng, 6), shape: [3, 2] },
  ], { rng, label: "triplet explicit" });
  const { values, labels } = clustered(rng, 9, 3, 3, 0.8);
  for (const mining of ["semi-hard", "random"] as const) {
    checkGradients(
      device,
      (x) =>
        triplet({ margin: 3, mining }).compute(x, device.tensor(labels, [9]), {
          training: true,
          rng: new Rng(2),
          labels,
        }),
      [{ values, shape: [9, 3] }],
      { rng, eps: 1e-3, label: `triplet ${mining}` },
    );
  }
});

Deno.test("triplet() rejects batches without positives or negatives and NaN embeddings", () => {
  const x = device.tensor(uniform(new Rng(1), 8), [4, 2]);
  assert.throws(
    () => triplet({}).compute(x, device.tensor([0, 1, 2, 3], [4])),
    /triplet loss: no class has two examples/,
  );
  assert.throws(
    () => triplet({}).compute(x, device.tensor([1, 1, 1, 1], [4])),
    /triplet loss: the batch holds one class/,
  );
  assert.throws(
    () => triplet({}).compute(device.tensor([Infinity, 0, 0, 0], [2, 2]), device.tensor([0, 0], [2])),
    /triplet loss/,
  );
  assert.throws(() => triplet({ mining: "hardest" as never }), RangeError);
});
