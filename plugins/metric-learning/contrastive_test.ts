import { Rng } from "@cnnlab/core";
import { assertClose, checkGradients, uniform } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import { contrastive } from "./contrastive.ts";
import { clustered, device } from "./_test_helpers.ts";

Deno.test("contrastive() on explicit pairs equals a worked example", () => {
  // Pair 1 similar at distance 5 → 25; pair 2 dissimilar at distance 1 with m = 2 → (2 − 1)² = 1;
  // pair 3 dissimilar at distance 3 ≥ m → 0.  L = (25 + 1 + 0) / (2 · 3) = 26 / 6.
  const a = device.tensor([0, 0, 0, 0, 0, 0], [3, 2]);
  const b = device.tensor([3, 4, 1, 0, 0, 3], [3, 2]);
  const l =
    contrastive({ margin: 2, normalize: false }).compute([a, b], device.tensor([1, 0, 0], [3])).dataSync()[0];
  assertClose([l], [26 / 6]);
});

Deno.test("contrastive() on random pairs matches a naive loop written here", () => {
  const rng = new Rng(3);
  const n = 12, d = 5, m = 1.5;
  const a = uniform(rng, n * d), b = uniform(rng, n * d);
  const y = Float32Array.from({ length: n }, () => rng.int(2));
  let want = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (a[i * d + k] - b[i * d + k]) ** 2;
    const dist = Math.sqrt(s);
    want += y[i] ? s : Math.max(0, m - dist) ** 2;
  }
  want /= 2 * n;
  const got = contrastive({ margin: m, normalize: false }).compute(
    [device.tensor(a, [n, d]), device.tensor(b, [n, d])],
    device.tensor(y, [n]),
  );
  assertClose(got.dataSync(), [want], { rtol: 1e-5 });
});

Deno.test("contrastive() central-difference gradients, explicit pairs and in-batch pairs", () => {
  const rng = new Rng(4);
  const y = device.tensor([1, 0, 0, 1], [4]);
  checkGradients(device, (a, b) => contrastive({ margin: 3, normalize: false }).compute([a, b], y), [
    { values: uniform(rng, 12), shape: [4, 3] },
    { values: uniform(rng, 12), shape: [4, 3] },
  ], { rng, label: "contrastive explicit" });
  const { values, labels } = clustered(rng, 8, 3, 2);
  checkGradients(
    device,
    (x) =>
      contrastive({ margin: 5, normalize: true }).compute(x, device.tensor(labels, [8]), {
        training: true,
        rng: new Rng(9),
        labels,
      }),
    [{ values, shape: [8, 3] }],
    { rng, label: "contrastive in-batch" },
  );
});

Deno.test("contrastive() rejects a single-class batch, NaN embeddings and bad labels, naming the loss", () => {
  const loss = contrastive({});
  const x = device.tensor(uniform(new Rng(1), 8), [4, 2]);
  assert.throws(() => loss.compute(x, device.tensor([2, 2, 2, 2], [4])), /one class only/);
  assert.throws(
    () => loss.compute(device.tensor([0, NaN, 1, 1], [2, 2]), device.tensor([0, 1], [2])),
    /contrastive loss: embedding 0 holds NaN/,
  );
  assert.throws(() => loss.compute(x, device.tensor([0, 1, -1, 0], [4])), /contrastive loss: label -1/);
  assert.throws(() => loss.compute(x, device.tensor([0, 1], [2])), /labels must be \[4\]/);
  assert.throws(() => contrastive({ margin: -1 }), RangeError);
});
